#include "test.h"

TEST(tensor_new_is_zeroed_aligned_and_contiguous) {
  ebm_tensor *t = ebm_tensor_new4(2, 3, 4, 5);
  REQUIRE(t != NULL);
  CHECK(((uintptr_t)t->data % EBM_ALIGN) == 0);
  CHECK_EQ_INT(ebm_tensor_numel(t), 120);
  CHECK_EQ_INT(ebm_tensor_row_size(t), 60);
  CHECK_EQ_INT(t->stride[0], 60);
  CHECK_EQ_INT(t->stride[3], 1);
  CHECK(ebm_tensor_is_contiguous(t));
  for (int i = 0; i < 120; i++) CHECK(t->data[i] == 0.0f);
  ebm_tensor_free(t);
}

TEST(tensor_rejects_bad_rank_and_negative_dims) {
  int64_t shape[6] = {1, 2, 3, 4, 5, 6};
  CHECK(ebm_tensor_new(6, shape) == NULL);
  CHECK_CONTAINS(ebm_last_error(), "rank 6");
  CHECK(ebm_tensor_new1(-3) == NULL);
  CHECK_CONTAINS(ebm_last_error(), "-3");
}

TEST(tensor_views_share_data_without_copies) {
  ebm_tensor *t = ebm_tensor_new2(4, 3);
  for (int i = 0; i < 12; i++) t->data[i] = (float)i;
  ebm_tensor rows, flat;
  CHECK_OK(ebm_tensor_view_rows(t, 1, 2, &rows));
  CHECK(rows.data == t->data + 3 && rows.shape[0] == 2 && !rows.owns_data);
  CHECK_OK(ebm_tensor_view_reshape(t, 1, (int64_t[]){12}, &flat));
  flat.data[5] = 42.0f;
  CHECK(t->data[5] == 42.0f);
  CHECK_FAILS_WITH(ebm_tensor_view_rows(t, 3, 2, &rows), EBM_ERR_ARG, "out of range");
  CHECK_FAILS_WITH(ebm_tensor_view_reshape(t, 2, (int64_t[]){5, 2}, &flat), EBM_ERR_SHAPE,
                   "cannot view [4,3] as [5,2]");
  ebm_tensor *c = ebm_tensor_clone(&rows);
  CHECK(c->data != rows.data && c->data[0] == 3.0f && c->data[5] == 8.0f);
  ebm_tensor_free(c);
  ebm_tensor_free(t);
}

TEST(error_detail_is_kept_and_prefixed) {
  ebm_status s = ebm_set_error(EBM_ERR_FORMAT, "tensor '%s' is short", "w");
  CHECK_EQ_INT(s, EBM_ERR_FORMAT);
  ebm_error_prefix(s, "model.safetensors");
  CHECK(strcmp(ebm_last_error(), "model.safetensors: tensor 'w' is short") == 0);
  CHECK(strcmp(ebm_strerror(EBM_ERR_NOMEM), "out of memory") == 0);
  ebm_clear_error();
  CHECK(ebm_last_error()[0] == '\0');
}
