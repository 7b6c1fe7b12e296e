/* The two clocks a training budget can count (--budget-clock): the CPU
 * clock stands still while the process sleeps and moves while it computes,
 * which is what makes a CPU budget buy the same work on a busy machine. */
#include <time.h>

#include "test.h"

TEST(cpu_clock_stands_still_in_a_sleep_and_moves_with_work) {
  const double wall0 = ebm_now_seconds(), cpu0 = ebm_cpu_seconds();
  struct timespec nap = {0, 100 * 1000 * 1000};
  while (nanosleep(&nap, &nap) != 0) {
  }
  const double slept_wall = ebm_now_seconds() - wall0, slept_cpu = ebm_cpu_seconds() - cpu0;
  CHECK(slept_wall >= 0.1);
  CHECK(slept_cpu >= 0 && slept_cpu < 0.05); /* a sleep is wall time, not CPU */
  /* spin until the CPU clock has moved 20 ms (it must: the loop computes);
   * the wall-clock cap only keeps a broken clock from hanging the suite */
  volatile double sink = 0;
  const double cpu1 = ebm_cpu_seconds(), wall1 = ebm_now_seconds();
  while (ebm_cpu_seconds() - cpu1 < 0.02 && ebm_now_seconds() - wall1 < 30)
    for (int i = 0; i < 10000; i++) sink += 1e-9 * i;
  CHECK(ebm_cpu_seconds() - cpu1 >= 0.02);
  CHECK(sink > 0);
}
