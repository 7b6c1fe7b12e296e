/* How the tests start /usr/bin/python3 on this build's libebm.so. */
#ifndef EBM_TESTS_PYTHON_ENV_H
#define EBM_TESTS_PYTHON_ENV_H

/* An instrumented libebm.so needs the ASan runtime loaded first in a
 * process that is not instrumented itself (python3, a plain cc binary);
 * Python's own allocations are not ours to leak-check. */
#ifdef __SANITIZE_ADDRESS__
#define TEST_SANITIZER_ENV "LD_PRELOAD=$(gcc -print-file-name=libasan.so) ASAN_OPTIONS=detect_leaks=0 "
#else
#define TEST_SANITIZER_ENV ""
#endif

#endif
