/* The batch slices of data-parallel training (src/train/slices.c) in one
 * process: the per-slice gradients are summed in slice order into every
 * parameter, each slice has its own stream and buffer share, and one slice
 * is the plain trainer. (np 1 vs np 2 bytes: tests/cli/test_cli_mpi.c.) */
#include "train/train_internal.h"
#include "train/train_testutil.h"

static ebm_trainer *sliced_trainer(ebm_net *net, const ebm_dataset *ds, int64_t slices) {
  ebm_train_config c = tt_toy_config(8, 2, 4);
  c.slices = slices;
  ebm_trainer *t = NULL;
  REQUIRE_OK(ebm_trainer_new(net, ds, &c, &t));
  return t;
}

/* Slice s's gradient element k is chosen so that float order matters:
 * 1e8 then +1 then −1e8 … summed in slice order. */
static float slice_value(int64_t s, int64_t k) {
  static const float v[4] = {1e8f, 1.0f, -1e8f, 0.5f};
  return v[(s + k) % 4] * (float)(1 + k % 3);
}

TEST(sliced_gradients_are_summed_in_slice_order_into_every_parameter) {
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:train:64", -4, 4, &ds));
  ebm_net *net = tt_mlp(8, 0, 8, 1);
  ebm_trainer *t = sliced_trainer(net, ds, 4);
  REQUIRE(t->sl.count == 4 && t->sl.size == 2 && t->sl.first == 0 && t->sl.end == 4);
  for (int64_t s = 0; s < 4; s++) {
    int64_t k = 0;
    for (int i = 0; i < ebm_net_param_count(net); i++) {
      ebm_tensor *g = ebm_net_param(net, i)->grad;
      for (int64_t j = 0; j < ebm_tensor_numel(g); j++) g->data[j] = slice_value(s, k++);
    }
    train_slices_keep_grads(t, s);
  }
  CHECK_OK(train_slices_reduce_grads(t));
  int64_t k = 0, wrong = 0;
  for (int i = 0; i < ebm_net_param_count(net); i++) {
    const ebm_tensor *g = ebm_net_param(net, i)->grad;
    for (int64_t j = 0; j < ebm_tensor_numel(g); j++, k++) {
      float want = slice_value(0, k);
      for (int64_t s = 1; s < 4; s++) want += slice_value(s, k);
      wrong += g->data[j] != want;
    }
  }
  CHECK_EQ_INT(k, t->sl.n_grad);
  CHECK_EQ_INT(wrong, 0);
  ebm_trainer_free(t);
  ebm_net_free(net);
  ebm_dataset_free(ds);
}

/* Each slice draws from its own stream (the split s of the trainer's) and
 * keeps buffer / slices chains; one slice keeps the trainer's own. */
TEST(each_slice_has_its_own_stream_and_buffer_share) {
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:train:64", -4, 4, &ds));
  ebm_net *net = tt_mlp(8, 0, 8, 1);
  ebm_trainer *t = sliced_trainer(net, ds, 2);
  CHECK(ebm_trainer_replay(t) == NULL);
  for (int64_t s = 0; s < 2; s++) {
    ebm_rng want = ebm_rng_split(&t->rng, (uint64_t)s);
    CHECK(train_slice_rng(t, s)->seed == want.seed);
    CHECK(train_slice_rng(t, s) != &t->rng);
    CHECK_EQ_INT(ebm_replay_size(train_slice_replay(t, s), -1), 1000);
  }
  REQUIRE_OK(ebm_trainer_step(t, NULL));
  int64_t n = 0;
  CHECK(ebm_trainer_negatives(t, NULL, &n) != NULL);
  CHECK_EQ_INT(n, 8);
  ebm_trainer_free(t);
  t = sliced_trainer(net, ds, 1);
  CHECK(train_slice_rng(t, 0) == &t->rng);
  CHECK(train_slice_replay(t, 0) == ebm_trainer_replay(t));
  CHECK_EQ_INT(ebm_replay_size(ebm_trainer_replay(t), -1), 2000);
  ebm_trainer_free(t);
  ebm_net_free(net);
  ebm_dataset_free(ds);
}
