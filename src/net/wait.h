/* Waiting for one file descriptor with a deadline and a cancellation fd:
 * the synchronous driver's only blocking primitive. The calling thread
 * drives its own request (ARCHITECTURE-NOTES §4): non-blocking sockets, and
 * poll() here when the state machine needs I/O. A WinHttpCloseHandle from
 * another thread signals the request's cancellation eventfd, which ends the
 * wait at once (CONTRACT C6). */
#ifndef WH_NET_WAIT_H
#define WH_NET_WAIT_H

#include <stdint.h>

#include <winhttp.h>

/* No deadline. */
#define WH_NEVER INT64_MAX

/* Monotonic milliseconds. */
int64_t wh_now_ms(void);

/* The deadline |timeout_ms| from now; 0 and 0xFFFFFFFF (-1) mean infinite
 * (WinHttpSetTimeouts). */
int64_t wh_deadline(DWORD timeout_ms);

/* Waits until |fd| is ready for |events| (POLLIN/POLLOUT), |deadline|
 * passes, or |cancel_fd| (an eventfd, or -1) is signalled. Returns
 * ERROR_SUCCESS, ERROR_WINHTTP_TIMEOUT or ERROR_WINHTTP_OPERATION_CANCELLED.
 * POLLERR/POLLHUP count as ready: the next read or write reports the error. */
DWORD wh_wait_fd(int fd, short events, int64_t deadline, int cancel_fd);

/* Cancellation eventfds. Each thread that drives a synchronous call owns
 * one (made on first use, closed when the thread exits); a request
 * records the one its driving thread waits on, and WinHttpCloseHandle
 * signals it (core/exchange.c). */
int wh_thread_cancel_fd(void);
void wh_cancel_fd_signal(int fd);
/* Consumes a signal (one meant for a request the thread has left). */
void wh_cancel_fd_drain(int fd);
/* Whether |fd| is readable now (no wait). */
int wh_fd_readable(int fd);

#endif
