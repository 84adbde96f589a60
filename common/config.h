/*
 * config: the pipeline's one YAML file, read into a small tree that keeps
 * each node's line so every complaint can say "file:line: what is wrong".
 * Each stage reads its own part with the typed getters below; a getter that
 * finds a value of the wrong type fills err and returns -1.
 *
 * Limits: 1 MiB of file, 64 levels of nesting, 100000 nodes, 4096 keys in
 * one map. Anchors and aliases are refused (they are how YAML files blow
 * up).
 */
#ifndef PROFPIPE_CONFIG_H
#define PROFPIPE_CONFIG_H

#include <stddef.h>

enum cfg_type { CFG_SCALAR, CFG_MAP, CFG_SEQ };

struct cfg_node {
	enum cfg_type type;
	int line;
	char *key;              /* for a map member: its key, else NULL */
	char *value;            /* scalars */
	int quoted;             /* scalar was quoted: never YAML's null */
	struct cfg_node *child; /* maps and sequences: first member */
	struct cfg_node *next;  /* next member of the parent */
};

struct cfg {
	char *path;
	struct cfg_node *root; /* a map, possibly empty */
};

/* Load path. On error returns -1 with "path:line: reason" in err. */
int cfg_load(struct cfg **out, const char *path, char *err, size_t errlen);
/* The same from a string; name stands for the path in messages. */
int cfg_parse(struct cfg **out, const char *name, const char *text, size_t len,
    char *err, size_t errlen);
void cfg_free(struct cfg *c);

/* The member of map m named key (exact match), or NULL. */
struct cfg_node *cfg_get(const struct cfg_node *m, const char *key);
size_t cfg_count(const struct cfg_node *n);

/* Typed reads of map m's member key. Absent, or YAML's null (~, null,
 * unquoted): *out = def and 0. Present but wrong: -1 and "path:line: key:
 * reason" in err. A quoted number or bool is read as one. */
int cfg_int(const struct cfg *c, const struct cfg_node *m, const char *key,
    long def, long min, long max, long *out, char *err, size_t errlen);
int cfg_bool(const struct cfg *c, const struct cfg_node *m, const char *key,
    int def, int *out, char *err, size_t errlen);
int cfg_str(const struct cfg *c, const struct cfg_node *m, const char *key,
    const char *def, const char **out, char *err, size_t errlen);
/* Member key must be a map / sequence if present (NULL when absent). */
int cfg_map(const struct cfg *c, const struct cfg_node *m, const char *key,
    struct cfg_node **out, char *err, size_t errlen);
int cfg_seq(const struct cfg *c, const struct cfg_node *m, const char *key,
    struct cfg_node **out, char *err, size_t errlen);

/* "path:line: " + formatted message into err; returns -1. */
int cfg_error(const struct cfg *c, const struct cfg_node *n, char *err,
    size_t errlen, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Refuse members of map m not in the NULL-terminated list known: catches
 * typos ("Intervall") that would otherwise be silently ignored. */
int cfg_only(const struct cfg *c, const struct cfg_node *m,
    const char *const *known, char *err, size_t errlen);

/* Refuse a top level with anything but the pipeline's sections (inputs,
 * aggregator, outputs): each stage reads only its own, so a misspelt one
 * ("output:", "Aggregator:") would be ignored by all of them. */
int cfg_check_top(const struct cfg *c, char *err, size_t errlen);

#endif
