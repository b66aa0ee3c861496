/*
 * Symbols that zig's wasi-libc declares but does not implement, which CPython's configure
 * detects anyway. Each fails the way a kernel without the feature would (ENOSYS), so the
 * Python-level call raises OSError instead of the link failing.
 */
#include <errno.h>
#include <stddef.h>
#include <sys/types.h>

struct epoll_event;

int epoll_create(int size) { (void)size; errno = ENOSYS; return -1; }
int epoll_create1(int flags) { (void)flags; errno = ENOSYS; return -1; }
int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event) {
    (void)epfd; (void)op; (void)fd; (void)event; errno = ENOSYS; return -1;
}
int epoll_wait(int epfd, struct epoll_event *events, int max, int timeout) {
    (void)epfd; (void)events; (void)max; (void)timeout; errno = ENOSYS; return -1;
}
int setgroups(size_t size, const gid_t *list) { (void)size; (void)list; errno = ENOSYS; return -1; }
int memfd_create(const char *name, unsigned flags) { (void)name; (void)flags; errno = ENOSYS; return -1; }

/* No message catalogues: every lookup returns the message itself. */
char *gettext(const char *msgid) { return (char *)msgid; }
char *dgettext(const char *domain, const char *msgid) { (void)domain; return (char *)msgid; }
char *dcgettext(const char *domain, const char *msgid, int category) {
    (void)domain; (void)category; return (char *)msgid;
}
char *textdomain(const char *domain) { return (char *)(domain ? domain : "messages"); }
char *bindtextdomain(const char *domain, const char *dir) { (void)domain; return (char *)dir; }
