// SPDX-License-Identifier: GPL-2.0-or-later
/* link-thrower: a C++ library that throws and catches (test_linkage.py),
 * dlopened by link-main, a C program: its exceptions must bind to
 * libgcc_s's _Unwind_*, not to the copies libheaptrace.so brings in. */
#include <stdexcept>
extern "C" int thrower() {
  try { throw std::runtime_error("x"); } catch (std::exception &) { return 7; }
  return 0;
}
