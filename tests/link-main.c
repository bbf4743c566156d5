// SPDX-License-Identifier: GPL-2.0-or-later
/* link-main: a C program that dlopens argv[1] (link-thrower's library) and
 * prints what its thrower() returns (test_linkage.py). */
#include <dlfcn.h>
#include <stdio.h>
int main(int c, char **v) { void *h = dlopen(v[1], RTLD_NOW);
  int (*f)(void) = (int (*)(void))dlsym(h, "thrower"); printf("%d\n", f());
  return 0; }
