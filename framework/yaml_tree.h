/*
 * yaml_tree.h - a YAML document as a small tree of nodes that remember
 * where they came from (file, line, column), so every later error can
 * point at the text the user wrote.
 *
 * Parsed with libyaml.  Anchors and aliases are refused (no alias bombs),
 * and depth, size and node count are bounded; the limits are named in the
 * error when one is hit.
 */
#ifndef NL_YAML_TREE_H
#define NL_YAML_TREE_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"

#define NL_YAML_MAX_BYTES (1u << 20) /* 1 MiB */
#define NL_YAML_MAX_DEPTH 32
#define NL_YAML_MAX_NODES 100000

typedef enum nl_ytype { NL_YSCALAR, NL_YMAP, NL_YSEQ } nl_ytype;

typedef struct nl_ynode nl_ynode;
struct nl_ynode {
    nl_ytype type;
    const char *file;  /* borrowed: outlives the tree (see nl_yaml_parse) */
    size_t line, col;  /* from 1; line 0: no position (command line) */
    char *text;        /* SCALAR: its text */
    bool quoted;       /* SCALAR: was quoted, so always a string */
    size_t n;          /* MAP: pairs; SEQ: items */
    nl_ynode **keys;   /* MAP: key scalars */
    nl_ynode **items;  /* MAP: values; SEQ: items */
};

/* Parses `len` bytes of `text` (one YAML document; an empty one gives an
 * empty map).  `file` labels every node and message and must outlive the
 * tree.  Returns a tree to free with nl_ynode_free(), or NULL with d set
 * (NL_EINPUT). */
nl_ynode *nl_yaml_parse(const char *text, size_t len, const char *file,
                        nl_diag *d);

/* Reads and parses the file at `path` (which must outlive the tree).
 * Returns as nl_yaml_parse; an unreadable file is NL_EINPUT too. */
nl_ynode *nl_yaml_load(const char *path, nl_diag *d);

/* Frees a node and everything under it.  NULL is fine. */
void nl_ynode_free(nl_ynode *node);

/* Returns a deep copy (free with nl_ynode_free), or NULL when out of
 * memory. */
nl_ynode *nl_ynode_copy(const nl_ynode *node);

/* Returns the value under `key` in MAP node `map`, or NULL. */
nl_ynode *nl_ynode_get(const nl_ynode *map, const char *key);

/* Sets the dotted path `path` (e.g. "optimizer.learning_rate") under MAP
 * `root` to `value`, taking ownership of it.  Missing maps on the way are
 * created, positioned at `where` (the --set argument, or the study line
 * that asked for them); a scalar on the way becomes {name: scalar}, which
 * is how the plugin shorthand `activation: step` expands.  Returns 0, or -1
 * with d set (value is freed then too). */
int nl_ynode_set_path(nl_ynode *root, const char *path, nl_ynode *value,
                      const nl_ynode *where, nl_diag *d);

/* Writes a node as one line of flow YAML (`[1, 2]`, `{a: b}`, scalars
 * quoted when they were).  Returns a malloc'd string, or NULL when out of
 * memory. */
char *nl_ynode_to_flow(const nl_ynode *node);

/* True when the scalar is YAML null (~, null, or empty and unquoted). */
bool nl_ynode_is_null(const nl_ynode *node);

/* Scalar conversions.  Each returns 0, or -1 with d set at the node's
 * position (NL_EINPUT) naming what was expected. */
int nl_ynode_double(const nl_ynode *node, double *out, nl_diag *d);
int nl_ynode_bool(const nl_ynode *node, bool *out, nl_diag *d);
int nl_ynode_uint(const nl_ynode *node, unsigned long long max,
                  unsigned long long *out, nl_diag *d);
int nl_ynode_string(const nl_ynode *node, const char **out, nl_diag *d);

/* Fails (NL_EINPUT, at the offending key) unless every key of MAP `map`
 * is one of the n `allowed`; the message names `where` and offers a
 * did-you-mean or the list of allowed keys. */
int nl_ynode_check_keys(const nl_ynode *map, const char *where,
                        const char *const *allowed, size_t n, nl_diag *d);

/* Records an error at the node's position (d->status = NL_EINPUT).
 * Returns -1. */
int nl_ynode_fail(nl_diag *d, const nl_ynode *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Parses a YAML scalar as a double the way the config does (.inf, -.inf,
 * .nan included).  Returns true on success. */
bool nl_parse_double(const char *s, double *out);

#endif
