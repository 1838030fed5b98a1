#include "boot_timer.h"

#include <string.h>

#include "../core/layout.h"
#include "../core/bus.h"
#include "../core/clock.h"
#include "../core/vm.h"

static void boot_timer_access(void *opaque, uint64_t offset, uint8_t *data, unsigned len,
			      int is_write)
{
	struct boot_timer *t = opaque;
	uint64_t unset = 0;

	(void)offset;
	if (!is_write) {
		memset(data, 0, len);
		return;
	}
	/* Only the first write counts; later ones (a restarted agent) change nothing. */
	if (atomic_compare_exchange_strong(&t->ready_us, &unset, clock_now_us()) && t->notify)
		t->notify(t->opaque);
}

int boot_timer_attach(struct boot_timer *t, struct vm *vm, void (*notify)(void *), void *opaque)
{
	atomic_init(&t->ready_us, 0);
	t->notify = notify;
	t->opaque = opaque;
	return bus_register(&vm->pio, PORT_BOOT_TIMER, 1, boot_timer_access, t, "boot timer");
}
