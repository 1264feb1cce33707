/* Monotonic time, back-off arithmetic and sleeps that a cancel hook can cut short. */
#include <errno.h>
#include <math.h>
#include <time.h>

#include "internal.h"

/* Seconds on CLOCK_MONOTONIC. */
double clock_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleep for seconds, checking cancel every 100 ms. 0, or -ECANCELED. */
int clock_sleep(double seconds, rl_cancel_fn cancel, void *userdata)
{
	double end = clock_now() + seconds, left;
	struct timespec ts;

	for (;;) {
		if (cancel != NULL && cancel(userdata))
			return -ECANCELED;
		left = end - clock_now();
		if (left <= 0)
			return 0;
		if (left > 0.1)
			left = 0.1;
		ts.tv_sec = (time_t)left;
		ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
		nanosleep(&ts, NULL); /* EINTR: loop re-checks cancel and time */
	}
}

/* Delay before retry number attempt (0-based): initial * 2^attempt, capped at max. */
double clock_backoff(double initial, double max, unsigned attempt)
{
	double d = initial;

	while (attempt-- > 0 && d < max)
		d *= 2;
	if (d > max)
		d = max;
	if (!(d >= 0) || isinf(d))
		d = 0;
	return d;
}
