/*
 * log: one line per event on stderr, "PROG: LEVEL: message". No timestamps:
 * a supervisor adds them. Safe to call from any thread (one write(2) per
 * line, so lines from threads do not interleave).
 */
#ifndef PROFPIPE_LOG_H
#define PROFPIPE_LOG_H

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* prog is kept by pointer: pass a string that outlives the process. */
void log_init(const char *prog, enum log_level level);
void log_set_level(enum log_level level);
int log_enabled(enum log_level level);
void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
