/* The heartbeat thread: POST /session/heartbeat every period on its own connection. */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

struct heartbeat {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	atomic_bool stop; /* read by the curl progress callback without the lock */
	bool running;     /* under mu */
	double period;
	CURL *easy;
	char *url, *token, *session_id, *ca_file;
	double request_timeout, connect_timeout;
	double retry_initial, retry_max; /* back-off while the server refuses (a restart) */
	unsigned long sent, failed;      /* under mu */
	int last_error;
	long last_http_status;
};

/* Cancel hook for the thread's transfers: stop was requested. */
static int hb_cancel(void *ud)
{
	struct heartbeat *hb = ud;

	return atomic_load(&hb->stop) ? 1 : 0;
}

/* One heartbeat; returns 0, or the error code (and the HTTP status in *status). */
static int hb_beat(struct heartbeat *hb, long *status)
{
	struct xfer_conf conf = { 0 };
	struct xfer_resp resp;
	char errbuf[256];
	int r;

	conf.url = hb->url;
	conf.token = hb->token;
	conf.session_id = hb->session_id;
	conf.ca_file = hb->ca_file;
	conf.connect_timeout = hb->connect_timeout;
	conf.cancel = hb_cancel;
	conf.cancel_ud = hb;
	*status = 0;
	xfer_resp_init(&resp);
	/* a slow answer is still a heartbeat: wait the full request timeout (stop aborts it) */
	r = xfer_once(hb->easy, &conf, "POST", "/session/heartbeat", NULL, hb->request_timeout,
		      &resp, errbuf, sizeof(errbuf));
	if (r == 0 && resp.status != 204 && resp.status != 200) {
		*status = resp.status;
		r = reply_status_errno(resp.status);
	}
	xfer_resp_free(&resp);
	return r;
}

/* Absolute CLOCK_MONOTONIC time `seconds` from now. */
static struct timespec deadline_in(double seconds)
{
	struct timespec ts;
	long ns;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)seconds;
	ns = ts.tv_nsec + (long)((seconds - (double)(time_t)seconds) * 1e9);
	ts.tv_sec += ns / 1000000000L;
	ts.tv_nsec = ns % 1000000000L;
	return ts;
}

/* Thread body: beat, then wait on the condition variable for period or stop. */
static void *hb_main(void *arg)
{
	struct heartbeat *hb = arg;
	struct timespec until;
	unsigned outages = 0;
	double wait;
	long status;
	int r;

	for (;;) {
		r = hb_beat(hb, &status);
		pthread_mutex_lock(&hb->mu);
		if (r == 0) {
			hb->sent++;
		} else if (r != -ECANCELED || !atomic_load(&hb->stop)) {
			hb->failed++;
			hb->last_error = r;
			hb->last_http_status = status;
		}
		if (r == -ENOENT) { /* the server forgot the session: beating is pointless */
			hb->running = false;
			pthread_mutex_unlock(&hb->mu);
			break;
		}
		/* a server that refuses or resets (restarting): beat again soon, backing off up
		 * to the period, so the session is refreshed as soon as the server is back */
		wait = hb->period;
		if (xfer_is_outage(r)) {
			double b = clock_backoff(hb->retry_initial, hb->retry_max, outages++);

			if (b < wait)
				wait = b > 0.05 ? b : 0.05;
		} else {
			outages = 0;
		}
		until = deadline_in(wait);
		while (!atomic_load(&hb->stop) &&
		       pthread_cond_timedwait(&hb->cv, &hb->mu, &until) != ETIMEDOUT)
			;
		if (atomic_load(&hb->stop)) {
			hb->running = false;
			pthread_mutex_unlock(&hb->mu);
			break;
		}
		pthread_mutex_unlock(&hb->mu);
	}
	return NULL;
}

/* Stop, join and free a heartbeat (NULL is fine). */
void heartbeat_free(struct heartbeat *hb)
{
	if (hb == NULL)
		return;
	pthread_mutex_lock(&hb->mu);
	atomic_store(&hb->stop, true);
	pthread_cond_broadcast(&hb->cv);
	pthread_mutex_unlock(&hb->mu);
	pthread_join(hb->thread, NULL);
	pthread_cond_destroy(&hb->cv);
	pthread_mutex_destroy(&hb->mu);
	curl_easy_cleanup(hb->easy);
	free(hb->url);
	if (hb->token != NULL)
		explicit_bzero(hb->token, strlen(hb->token));
	free(hb->token);
	free(hb->session_id);
	free(hb->ca_file);
	free(hb);
}

/* Free the parts of a heartbeat that never got a thread. */
static void hb_discard(struct heartbeat *hb, bool sync_init)
{
	if (sync_init) {
		pthread_cond_destroy(&hb->cv);
		pthread_mutex_destroy(&hb->mu);
	}
	if (hb->easy != NULL)
		curl_easy_cleanup(hb->easy);
	free(hb->url);
	if (hb->token != NULL)
		explicit_bzero(hb->token, strlen(hb->token));
	free(hb->token);
	free(hb->session_id);
	free(hb->ca_file);
	free(hb);
}

int rl_heartbeat_start(struct rl_client *c, double period)
{
	const char *op = "heartbeat start";
	struct heartbeat *hb;
	pthread_condattr_t ca;
	sigset_t all, old;
	int r;

	client_clear_error(c);
	if (c->session_id == NULL)
		return client_set_error(c, -ENOENT, 0, op, "no session");
	if (c->hb != NULL) {
		pthread_mutex_lock(&c->hb->mu);
		r = c->hb->running;
		pthread_mutex_unlock(&c->hb->mu);
		if (r)
			return client_set_error(c, -EALREADY, 0, op, "heartbeat already running");
		heartbeat_free(c->hb); /* it ended by itself (404): replace it */
		c->hb = NULL;
	}
	if (period <= 0)
		period = c->params[RL_PARAM_HEARTBEAT_PERIOD];
	hb = calloc(1, sizeof(*hb));
	if (hb == NULL)
		return client_set_error(c, -ENOMEM, 0, op, "out of memory");
	hb->period = period;
	hb->request_timeout = c->params[RL_PARAM_REQUEST_TIMEOUT];
	hb->connect_timeout = c->params[RL_PARAM_CONNECT_TIMEOUT];
	hb->retry_initial = c->params[RL_PARAM_RETRY_INITIAL];
	hb->retry_max = c->params[RL_PARAM_RETRY_MAX];
	hb->url = strdup(c->url);
	hb->ca_file = c->ca_file != NULL ? strdup(c->ca_file) : NULL;
	hb->session_id = strdup(c->session_id);
	hb->token = c->token != NULL ? strdup(c->token) : NULL;
	hb->easy = curl_easy_init();
	atomic_init(&hb->stop, false);
	if (hb->url == NULL || hb->session_id == NULL || (c->token != NULL && hb->token == NULL) ||
	    (c->ca_file != NULL && hb->ca_file == NULL) || hb->easy == NULL) {
		hb_discard(hb, false);
		return client_set_error(c, -ENOMEM, 0, op, "out of memory");
	}
	r = pthread_mutex_init(&hb->mu, NULL);
	if (r != 0) {
		hb_discard(hb, false);
		return client_set_error(c, -r, 0, op, "mutex: %s", strerror(r));
	}
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	r = pthread_cond_init(&hb->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (r != 0) {
		pthread_mutex_destroy(&hb->mu);
		hb_discard(hb, false);
		return client_set_error(c, -r, 0, op, "condition variable: %s", strerror(r));
	}
	hb->running = true;
	/* the thread inherits a full signal mask: signals go to the application's threads */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&hb->thread, NULL, hb_main, hb);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		hb_discard(hb, true);
		return client_set_error(c, -r, 0, op, "cannot start thread: %s", strerror(r));
	}
	c->hb = hb;
	return 0;
}

void rl_heartbeat_stop(struct rl_client *c)
{
	if (c == NULL)
		return;
	heartbeat_free(c->hb);
	c->hb = NULL;
}

void rl_heartbeat_get_info(struct rl_client *c, struct rl_heartbeat_info *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (c == NULL || c->hb == NULL)
		return;
	pthread_mutex_lock(&c->hb->mu);
	ret->running = c->hb->running;
	ret->sent = c->hb->sent;
	ret->failed = c->hb->failed;
	ret->last_error = c->hb->last_error;
	ret->last_http_status = c->hb->last_http_status;
	pthread_mutex_unlock(&c->hb->mu);
}
