/* File helpers shared by tests in several folders (the harness itself is
 * test.h). */
#ifndef EBM_TEST_UTIL_H
#define EBM_TEST_UTIL_H

#include "test.h"

/* 1 if the two files hold the same bytes (REQUIREs that both can be read). */
int test_same_file(const char *a, const char *b);

/* A whole text file, NUL-terminated and malloc'd; NULL when it cannot be
 * read (e.g. not written yet). */
char *test_read_text(const char *path);

/* Loads an .npy written by the code under test; REQUIREs float32. */
void test_load_f32(const char *path, ebm_npy *a);

/* n labelled images of 1×side×side pixels in [0, 1) (labels i % 2), written
 * to test_path("img.npy") and "lab.npy"; returns their data spec
 * "npy:IMG,LAB" (static). */
const char *test_labelled_images(int n, int side);

#endif
