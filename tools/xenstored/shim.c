/*
 * shim.c: an LD_PRELOAD library that lets Debian's oxenstored 4.17 serve
 * its unix socket on a machine without a Xen hypervisor.
 *
 * oxenstored touches the hypervisor even with --no-domain-init: it opens
 * an xc interface when its Domains module initialises, opens an event
 * channel handle and binds VIRQ_DOM_EXC, and raises its rlimits. This
 * library replaces exactly those calls (plus the matching close calls,
 * so a clean shutdown does not free fake handles) with harmless stubs.
 *
 * It is only meant for tests: the daemon is socket-only, every client is
 * dom0, and domain operations that need real memory mapping
 * (XS_INTRODUCE) are refused here with ENOSYS.
 *
 * Build: gcc -shared -fPIC -O2 -o shim.so shim.c
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

/* Opaque in the real headers; only the shim looks inside its own. */
struct shim_evtchn {
	int fd; /* an eventfd that never fires */
};

struct shim_xc {
	int unused;
};

int setrlimit(int resource, const struct rlimit *rlim)
{
	(void)resource;
	(void)rlim;
	return 0;
}

void *xc_interface_open(void *logger, void *dombuild_logger, unsigned flags)
{
	(void)logger;
	(void)dombuild_logger;
	(void)flags;
	return calloc(1, sizeof(struct shim_xc));
}

int xc_interface_close(void *xch)
{
	free(xch);
	return 0;
}

void *xc_map_foreign_range(void *xch, uint32_t dom, int size, int prot,
			   unsigned long mfn)
{
	(void)xch;
	(void)dom;
	(void)size;
	(void)prot;
	(void)mfn;
	errno = ENOSYS;
	return NULL;
}

void *xenevtchn_open(void *logger, unsigned open_flags)
{
	struct shim_evtchn *h;

	(void)logger;
	(void)open_flags;
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return NULL;
	h->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (h->fd < 0) {
		free(h);
		return NULL;
	}
	return h;
}

int xenevtchn_close(void *xce)
{
	struct shim_evtchn *h = xce;

	if (h != NULL) {
		close(h->fd);
		free(h);
	}
	return 0;
}

int xenevtchn_fd(void *xce)
{
	struct shim_evtchn *h = xce;

	return h != NULL ? h->fd : -1;
}

int xenevtchn_bind_virq(void *xce, unsigned int virq)
{
	(void)xce;
	(void)virq;
	return 1; /* a made-up local port */
}

int xenevtchn_bind_interdomain(void *xce, uint32_t domid, unsigned remote_port)
{
	(void)xce;
	(void)domid;
	(void)remote_port;
	errno = ENOSYS;
	return -1;
}

int xenevtchn_unbind(void *xce, unsigned port)
{
	(void)xce;
	(void)port;
	return 0;
}

int xenevtchn_pending(void *xce)
{
	(void)xce;
	errno = EAGAIN;
	return -1;
}

int xenevtchn_unmask(void *xce, unsigned port)
{
	(void)xce;
	(void)port;
	return 0;
}

int xenevtchn_notify(void *xce, unsigned port)
{
	(void)xce;
	(void)port;
	return 0;
}
