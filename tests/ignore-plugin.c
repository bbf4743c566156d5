// SPDX-License-Identifier: GPL-2.0-or-later
/* ignore-plugin: a shared library for the --ignore tests of object paths,
 * built by the Makefile as tests/bin/libhtplug.so and
 * preloaded next to tests/bin/s-ignore: plugin_leak() leaks 700 bytes from
 * this object. */
#include <stdlib.h>

void *plugin_block;

void plugin_leak(void)
{
	plugin_block = malloc(700);
}
