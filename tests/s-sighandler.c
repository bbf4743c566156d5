// SPDX-License-Identifier: GPL-2.0-or-later
/* s-sighandler: installs its own SIGUSR1 handler with sigaction after
 * start-up (the handler writes "handled" on stdout), leaks leak_kept
 * (1 x 4242 bytes), writes "ready" and reads stdin until it ends, then
 * exits with status 0.  SIGUSR2 is left alone. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void *keep;

static void on_usr1(int signo)
{
	(void)signo;
	if (write(1, "handled\n", 8) != 8)
		_exit(1);
}

void leak_kept(void)
{
	keep = malloc(4242);
}

int main(void)
{
	struct sigaction sa;
	char c;
	ssize_t n;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL))
		return 1;
	leak_kept();
	if (write(1, "ready\n", 6) != 6)
		return 1;
	while ((n = read(0, &c, 1)) != 0)
		if (n < 0 && errno != EINTR)
			return 1;
	return 0;
}
