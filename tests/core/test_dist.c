/* The communicator (ebm/dist.h) on one process, the fixed slicing and the
 * ordered reduction; the MPI collectives themselves are checked end to end
 * by tests/cli/test_cli_mpi.c (np 1 vs np 2 give the same bytes). */
#include <stdlib.h>

#include "test.h"

TEST(dist_slice_ranges_tile_the_slices_in_rank_order) {
  for (int64_t slices = 1; slices <= 9; slices++)
    for (int size = 1; size <= slices; size++) {
      int64_t expect_first = 0;
      for (int r = 0; r < size; r++) {
        int64_t first, end;
        ebm_dist_slice_range(slices, r, size, &first, &end);
        CHECK_EQ_INT(first, expect_first);
        /* balanced: every rank gets floor or ceil of slices / size */
        CHECK(end - first == slices / size || end - first == slices / size + 1);
        expect_first = end;
      }
      CHECK_EQ_INT(expect_first, slices);
    }
}

/* Float addition is not associative: 1e8 + 1 rounds back to 1e8, so the
 * slice order (1e8 + 1) − 1e8 gives 0 where (1e8 − 1e8) + 1 would give 1. */
TEST(dist_sum_slices_adds_in_slice_order) {
  const float blocks[3 * 2] = {1e8f, 1.0f, 1.0f, -1e8f, -1e8f, 1e8f};
  float out[2];
  ebm_dist_sum_slices(blocks, 3, 2, out);
  CHECK(out[0] == 0.0f);             /* (1e8 + 1) − 1e8 */
  CHECK(out[1] == 0.0f);             /* (1 − 1e8) + 1e8, where 1 + (−1e8 + 1e8) = 1 */
  /* in place into block 0, and one slice copies */
  float inplace[3 * 2];
  memcpy(inplace, blocks, sizeof blocks);
  ebm_dist_sum_slices(inplace, 3, 2, inplace);
  CHECK(inplace[0] == out[0] && inplace[1] == out[1]);
  ebm_dist_sum_slices(blocks, 1, 2, out);
  CHECK(out[0] == blocks[0] && out[1] == blocks[1]);
}

TEST(dist_single_process_is_rank_0_of_1) {
  unsetenv("OMPI_COMM_WORLD_SIZE");
  unsetenv("PMI_SIZE");
  unsetenv("MPI_LOCALNRANKS");
  unsetenv("PMIX_RANK");
  ebm_dist *d = NULL;
  REQUIRE_OK(ebm_dist_open(&d));
  CHECK_EQ_INT(ebm_dist_rank(d), 0);
  CHECK_EQ_INT(ebm_dist_size(d), 1);
  CHECK(strcmp(ebm_dist_backend(d), "single") == 0);
  float buf[4] = {1, 2, 3, 4};
  CHECK_OK(ebm_dist_gather_slices(d, buf, 2, 2 * sizeof(float)));
  CHECK(buf[0] == 1 && buf[3] == 4);
  CHECK_OK(ebm_dist_agree(d, EBM_OK));
  CHECK_FAILS_WITH(ebm_dist_agree(d, ebm_set_error(EBM_ERR_IO, "disk full")), EBM_ERR_IO, "disk full");
  CHECK(ebm_dist_any(d, 0) == 0);
  CHECK(ebm_dist_any(d, 5) == 1);
  ebm_dist_close(d);
  /* NULL is the single process too */
  CHECK_EQ_INT(ebm_dist_size(NULL), 1);
  CHECK_OK(ebm_dist_agree(NULL, EBM_OK));
}

/* Launched as one of 2 ranks by a launcher, a build without MPI refuses
 * rather than train the whole batch twice. */
TEST(dist_without_mpi_refuses_a_multi_rank_launch) {
  if (ebm_dist_have_mpi()) test_skip("this build has MPI (the refusal is for builds without it)");
  setenv("OMPI_COMM_WORLD_SIZE", "2", 1);
  ebm_dist *d = NULL;
  CHECK_FAILS_WITH(ebm_dist_open(&d), EBM_ERR_UNSUPPORTED, "built without MPI");
  CHECK(d == NULL);
}
