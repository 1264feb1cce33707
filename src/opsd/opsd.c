/* The ops-worker daemon context: bookkeeping of asynchronous work for a clean shutdown. */
#include "opsd.h"

void opsd_busy_inc(struct opsd *o)
{
	o->busy++;
}

void opsd_busy_dec(struct opsd *o)
{
	if (o->busy > 0)
		o->busy--;
}
