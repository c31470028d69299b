/* suite.h - what every unit test's main() ends with. */
#ifndef FL_TEST_SUITE_H
#define FL_TEST_SUITE_H

#include <check.h>

/* Runs every test of s (CK_NORMAL output), frees it; 1 if any failed. */
int fl_run_suite(Suite *s);

#endif
