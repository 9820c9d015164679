/* yaml_tree.c - libyaml events into a tree of positioned nodes. */
#define _POSIX_C_SOURCE 200809L
#include "yaml_tree.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "suggest.h"

typedef struct builder {
    yaml_parser_t parser;
    const char *file;
    size_t nodes;
    nl_diag *d;
} builder;

int nl_ynode_fail(nl_diag *d, const nl_ynode *node, const char *fmt, ...)
{
    if (d == NULL)
        return -1;
    char what[NL_DIAG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return nl_fail_at(d, NL_EINPUT, node->file, node->line, node->col, "%s",
                      what);
}

static nl_ynode *node_new(builder *b, nl_ytype type, const yaml_mark_t *mark)
{
    if (++b->nodes > NL_YAML_MAX_NODES) {
        nl_fail_at(b->d, NL_EINPUT, b->file, mark->line + 1, mark->column + 1,
                   "more than %u nodes in one document (limit); split the "
                   "file",
                   NL_YAML_MAX_NODES);
        return NULL;
    }
    nl_ynode *n = calloc(1, sizeof(*n));
    if (n == NULL) {
        nl_fail(b->d, NL_EFAIL, "out of memory");
        return NULL;
    }
    n->type = type;
    n->file = b->file;
    n->line = mark->line + 1; /* libyaml marks count from zero */
    n->col = mark->column + 1;
    return n;
}

/* Appends (key, value) or value to a container, growing it by doubling. */
static int node_push(builder *b, nl_ynode *parent, nl_ynode *key,
                     nl_ynode *value)
{
    /* Capacity is 4, then doubles: grow when n is 0 or a power of two >= 4. */
    size_t n = parent->n;
    if (n == 0 || (n >= 4 && (n & (n - 1)) == 0)) {
        size_t want = n == 0 ? 4 : n * 2;
        nl_ynode **items = realloc(parent->items, want * sizeof(*items));
        if (items == NULL)
            return nl_fail(b->d, NL_EFAIL, "out of memory");
        parent->items = items;
        if (parent->type == NL_YMAP) {
            nl_ynode **keys = realloc(parent->keys, want * sizeof(*keys));
            if (keys == NULL)
                return nl_fail(b->d, NL_EFAIL, "out of memory");
            parent->keys = keys;
        }
    }
    if (parent->type == NL_YMAP)
        parent->keys[parent->n] = key;
    parent->items[parent->n++] = value;
    return 0;
}

static int parse_error(builder *b)
{
    const yaml_parser_t *p = &b->parser;
    if (p->error == YAML_MEMORY_ERROR)
        return nl_fail(b->d, NL_EFAIL, "%s: out of memory", b->file);
    const yaml_mark_t *m = &p->problem_mark;
    if (p->context != NULL)
        return nl_fail_at(b->d, NL_EINPUT, b->file, m->line + 1, m->column + 1,
                          "invalid YAML: %s %s (the construct started at line "
                          "%zu)",
                          p->context, p->problem ? p->problem : "",
                          p->context_mark.line + 1);
    return nl_fail_at(b->d, NL_EINPUT, b->file, m->line + 1, m->column + 1,
                      "invalid YAML: %s",
                      p->problem ? p->problem : "unknown problem");
}

static int next_event(builder *b, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&b->parser, ev))
        return parse_error(b);
    return 0;
}

static nl_ynode *build_node(builder *b, yaml_event_t *ev, int depth);

/* Builds the children of a mapping or sequence whose start event has been
 * consumed, until the matching end event. */
static int build_children(builder *b, nl_ynode *parent, int depth)
{
    yaml_event_type_t end = parent->type == NL_YMAP ? YAML_MAPPING_END_EVENT
                                                    : YAML_SEQUENCE_END_EVENT;
    for (;;) {
        yaml_event_t ev;
        if (next_event(b, &ev) < 0)
            return -1;
        if (ev.type == end) {
            yaml_event_delete(&ev);
            return 0;
        }
        nl_ynode *first = build_node(b, &ev, depth + 1);
        yaml_event_delete(&ev);
        if (first == NULL)
            return -1;
        if (parent->type == NL_YSEQ) {
            if (node_push(b, parent, NULL, first) < 0) {
                nl_ynode_free(first);
                return -1;
            }
            continue;
        }
        if (first->type != NL_YSCALAR) {
            nl_ynode_fail(b->d, first, "a key must be a plain word");
            nl_ynode_free(first);
            return -1;
        }
        if (nl_ynode_get(parent, first->text) != NULL) {
            nl_ynode_fail(b->d, first, "duplicate key '%s'", first->text);
            nl_ynode_free(first);
            return -1;
        }
        if (next_event(b, &ev) < 0) {
            nl_ynode_free(first);
            return -1;
        }
        nl_ynode *value = build_node(b, &ev, depth + 1);
        yaml_event_delete(&ev);
        if (value == NULL || node_push(b, parent, first, value) < 0) {
            nl_ynode_free(first);
            nl_ynode_free(value);
            return -1;
        }
    }
}

static int refuse_anchor(builder *b, const yaml_event_t *ev,
                         const yaml_char_t *anchor)
{
    if (anchor == NULL)
        return 0;
    return nl_fail_at(b->d, NL_EINPUT, b->file, ev->start_mark.line + 1,
                      ev->start_mark.column + 1,
                      "anchors (&%s) and aliases are not supported in nnlab "
                      "files; write the value out",
                      (const char *)anchor);
}

static nl_ynode *build_node(builder *b, yaml_event_t *ev, int depth)
{
    if (depth > NL_YAML_MAX_DEPTH) {
        nl_fail_at(b->d, NL_EINPUT, b->file, ev->start_mark.line + 1,
                   ev->start_mark.column + 1,
                   "nesting deeper than %d levels (limit)", NL_YAML_MAX_DEPTH);
        return NULL;
    }
    nl_ynode *n = NULL;
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        if (refuse_anchor(b, ev, ev->data.scalar.anchor) < 0)
            return NULL;
        if ((n = node_new(b, NL_YSCALAR, &ev->start_mark)) == NULL)
            return NULL;
        n->text = strndup((const char *)ev->data.scalar.value,
                          ev->data.scalar.length);
        if (n->text == NULL) {
            nl_fail(b->d, NL_EFAIL, "out of memory");
            free(n);
            return NULL;
        }
        n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
        return n;
    case YAML_MAPPING_START_EVENT:
    case YAML_SEQUENCE_START_EVENT: {
        const yaml_char_t *anchor = ev->type == YAML_MAPPING_START_EVENT
                                        ? ev->data.mapping_start.anchor
                                        : ev->data.sequence_start.anchor;
        if (refuse_anchor(b, ev, anchor) < 0)
            return NULL;
        n = node_new(b,
                     ev->type == YAML_MAPPING_START_EVENT ? NL_YMAP : NL_YSEQ,
                     &ev->start_mark);
        if (n == NULL)
            return NULL;
        if (build_children(b, n, depth) < 0) {
            nl_ynode_free(n);
            return NULL;
        }
        return n;
    }
    case YAML_ALIAS_EVENT:
        nl_fail_at(b->d, NL_EINPUT, b->file, ev->start_mark.line + 1,
                   ev->start_mark.column + 1,
                   "aliases (*%s) are not supported in nnlab files; write "
                   "the value out",
                   (const char *)ev->data.alias.anchor);
        return NULL;
    default:
        nl_fail_at(b->d, NL_EINPUT, b->file, ev->start_mark.line + 1,
                   ev->start_mark.column + 1, "unexpected YAML event");
        return NULL;
    }
}

/* Consumes events up to and including one of type `want`. */
static int expect_event(builder *b, yaml_event_type_t want, yaml_event_t *ev)
{
    if (next_event(b, ev) < 0)
        return -1;
    if (ev->type != want) {
        yaml_mark_t at = ev->start_mark; /* the event is gone after delete */
        yaml_event_delete(ev);
        return nl_fail_at(b->d, NL_EINPUT, b->file, at.line + 1,
                          at.column + 1, "expected a single YAML document");
    }
    return 0;
}

nl_ynode *nl_yaml_parse(const char *text, size_t len, const char *file,
                        nl_diag *d)
{
    if (len > NL_YAML_MAX_BYTES) {
        nl_fail(d, NL_EINPUT, "%s: larger than %u bytes (limit)", file,
                NL_YAML_MAX_BYTES);
        return NULL;
    }
    builder b = {.file = file, .d = d};
    if (!yaml_parser_initialize(&b.parser)) {
        nl_fail(d, NL_EFAIL, "out of memory");
        return NULL;
    }
    yaml_parser_set_input_string(&b.parser, (const unsigned char *)text, len);
    nl_ynode *root = NULL;
    yaml_event_t ev;
    if (expect_event(&b, YAML_STREAM_START_EVENT, &ev) < 0)
        goto out;
    yaml_event_delete(&ev);
    if (next_event(&b, &ev) < 0)
        goto out;
    if (ev.type == YAML_STREAM_END_EVENT) { /* empty document */
        yaml_mark_t start = {0, 0, 0};
        yaml_event_delete(&ev);
        root = node_new(&b, NL_YMAP, &start);
        goto out;
    }
    if (ev.type != YAML_DOCUMENT_START_EVENT) {
        yaml_event_delete(&ev);
        nl_fail(d, NL_EINPUT, "%s: expected a YAML document", file);
        goto out;
    }
    yaml_event_delete(&ev);
    if (next_event(&b, &ev) < 0)
        goto out;
    root = build_node(&b, &ev, 0);
    yaml_event_delete(&ev);
    if (root == NULL)
        goto out;
    if (expect_event(&b, YAML_DOCUMENT_END_EVENT, &ev) < 0)
        goto fail;
    yaml_event_delete(&ev);
    if (next_event(&b, &ev) < 0)
        goto fail;
    bool more = ev.type != YAML_STREAM_END_EVENT;
    yaml_mark_t at = ev.start_mark;
    yaml_event_delete(&ev);
    if (more) {
        nl_fail_at(d, NL_EINPUT, file, at.line + 1, at.column + 1,
                   "more than one YAML document; keep one per file");
        goto fail;
    }
    goto out;
fail:
    nl_ynode_free(root);
    root = NULL;
out:
    yaml_parser_delete(&b.parser);
    return root;
}

nl_ynode *nl_yaml_load(const char *path, nl_diag *d)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        nl_fail_at(d, NL_EINPUT, path, 0, 0, "cannot open: %s",
                   strerror(errno));
        return NULL;
    }
    char *buf = malloc(NL_YAML_MAX_BYTES + 1);
    if (buf == NULL) {
        fclose(f);
        nl_fail(d, NL_EFAIL, "out of memory");
        return NULL;
    }
    size_t len = fread(buf, 1, NL_YAML_MAX_BYTES + 1, f);
    int read_error = ferror(f);
    fclose(f);
    nl_ynode *root = NULL;
    if (read_error)
        nl_fail(d, NL_EINPUT, "%s: cannot read: %s", path, strerror(errno));
    else
        root = nl_yaml_parse(buf, len, path, d);
    free(buf);
    return root;
}

void nl_ynode_free(nl_ynode *node)
{
    if (node == NULL)
        return;
    for (size_t i = 0; i < node->n; i++) {
        if (node->keys != NULL)
            nl_ynode_free(node->keys[i]);
        nl_ynode_free(node->items[i]);
    }
    free(node->keys);
    free(node->items);
    free(node->text);
    free(node);
}

nl_ynode *nl_ynode_copy(const nl_ynode *node)
{
    nl_ynode *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    *c = *node;
    c->text = NULL;
    c->keys = c->items = NULL;
    c->n = 0;
    if (node->text != NULL && (c->text = strdup(node->text)) == NULL)
        goto fail;
    if (node->n > 0) {
        c->items = calloc(node->n, sizeof(*c->items));
        if (c->items == NULL)
            goto fail;
        if (node->keys != NULL &&
            (c->keys = calloc(node->n, sizeof(*c->keys))) == NULL)
            goto fail;
        for (size_t i = 0; i < node->n; i++, c->n++) {
            c->items[i] = nl_ynode_copy(node->items[i]);
            if (c->keys != NULL)
                c->keys[i] = nl_ynode_copy(node->keys[i]);
            if (c->items[i] == NULL || (c->keys != NULL && c->keys[i] == NULL)) {
                c->n++;
                goto fail;
            }
        }
    }
    return c;
fail:
    nl_ynode_free(c);
    return NULL;
}

nl_ynode *nl_ynode_get(const nl_ynode *map, const char *key)
{
    if (map == NULL || map->type != NL_YMAP)
        return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (strcmp(map->keys[i]->text, key) == 0)
            return map->items[i];
    return NULL;
}

static nl_ynode *label_node(nl_ytype type, const nl_ynode *where,
                           const char *text)
{
    nl_ynode *n = calloc(1, sizeof(*n));
    if (n == NULL)
        return NULL;
    n->type = type;
    n->file = where->file;
    n->line = where->line;
    n->col = where->col;
    if (text != NULL && (n->text = strdup(text)) == NULL) {
        free(n);
        return NULL;
    }
    return n;
}

/* Adds `key: value` to map (taking both).  Returns 0 or -1. */
static int map_add(nl_ynode *map, nl_ynode *key, nl_ynode *value)
{
    nl_ynode **keys = realloc(map->keys, (map->n + 1) * sizeof(*keys));
    if (keys == NULL)
        return -1;
    map->keys = keys;
    nl_ynode **items = realloc(map->items, (map->n + 1) * sizeof(*items));
    if (items == NULL)
        return -1;
    map->items = items;
    map->keys[map->n] = key;
    map->items[map->n++] = value;
    return 0;
}

/* Returns the slot that holds `key` in map, creating `key: null`. */
static nl_ynode **map_slot(nl_ynode *map, const char *key,
                           const nl_ynode *where)
{
    for (size_t i = 0; i < map->n; i++)
        if (strcmp(map->keys[i]->text, key) == 0)
            return &map->items[i];
    nl_ynode *k = label_node(NL_YSCALAR, where, key);
    nl_ynode *v = label_node(NL_YSCALAR, where, "");
    if (k == NULL || v == NULL || map_add(map, k, v) < 0) {
        nl_ynode_free(k);
        nl_ynode_free(v);
        return NULL;
    }
    return &map->items[map->n - 1];
}

int nl_ynode_set_path(nl_ynode *root, const char *path, nl_ynode *value,
                      const nl_ynode *where, nl_diag *d)
{
    char *copy = strdup(path);
    if (copy == NULL) {
        nl_ynode_free(value);
        return nl_fail(d, NL_EFAIL, "out of memory");
    }
    nl_ynode *map = root;
    char *save = NULL;
    char *part = strtok_r(copy, ".", &save);
    int rc = -1;
    if (part == NULL || path[0] == '.' || path[strlen(path) - 1] == '.' ||
        strstr(path, "..") != NULL) {
        nl_ynode_fail(d, where, "'%s' is not a dotted key path like "
                      "optimizer.learning_rate", path);
        goto out;
    }
    for (;;) {
        char *next = strtok_r(NULL, ".", &save);
        nl_ynode **slot = map_slot(map, part, where);
        if (slot == NULL) {
            nl_fail(d, NL_EFAIL, "out of memory");
            goto out;
        }
        if (next == NULL) {
            nl_ynode_free(*slot);
            *slot = value;
            value = NULL;
            rc = 0;
            goto out;
        }
        nl_ynode *cur = *slot;
        if (cur->type == NL_YSCALAR && nl_ynode_is_null(cur)) {
            cur->type = NL_YMAP;
            free(cur->text);
            cur->text = NULL;
        } else if (cur->type == NL_YSCALAR) {
            /* The plugin shorthand: `x: word` means `x: {name: word}`. */
            nl_ynode *k = label_node(NL_YSCALAR, cur, "name");
            nl_ynode *v = nl_ynode_copy(cur);
            if (k == NULL || v == NULL) {
                nl_ynode_free(k);
                nl_ynode_free(v);
                nl_fail(d, NL_EFAIL, "out of memory");
                goto out;
            }
            k->line = cur->line;
            k->col = cur->col;
            free(cur->text);
            cur->text = NULL;
            cur->type = NL_YMAP;
            if (map_add(cur, k, v) < 0) {
                nl_ynode_free(k);
                nl_ynode_free(v);
                nl_fail(d, NL_EFAIL, "out of memory");
                goto out;
            }
        } else if (cur->type == NL_YSEQ) {
            nl_ynode_fail(d, where, "'%s' is a list; a dotted path cannot go "
                          "inside it", part);
            goto out;
        }
        map = cur;
        part = next;
    }
out:
    nl_ynode_free(value);
    free(copy);
    return rc;
}

bool nl_ynode_is_null(const nl_ynode *node)
{
    if (node == NULL)
        return true;
    if (node->type != NL_YSCALAR || node->quoted)
        return false;
    const char *t = node->text;
    return t[0] == '\0' || strcmp(t, "~") == 0 || strcmp(t, "null") == 0 ||
           strcmp(t, "Null") == 0 || strcmp(t, "NULL") == 0;
}

bool nl_parse_double(const char *s, double *out)
{
    static const struct {
        const char *word;
        double value;
    } special[] = {
        {".inf", HUGE_VAL},   {".Inf", HUGE_VAL},  {".INF", HUGE_VAL},
        {"+.inf", HUGE_VAL},  {"+.Inf", HUGE_VAL}, {"+.INF", HUGE_VAL},
        {"-.inf", -HUGE_VAL}, {"-.Inf", -HUGE_VAL}, {"-.INF", -HUGE_VAL},
        {".nan", NAN},        {".NaN", NAN},       {".NAN", NAN},
    };
    for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++)
        if (strcmp(s, special[i].word) == 0) {
            *out = special[i].value;
            return true;
        }
    /* strtod also takes "inf", "nan" and hex; YAML spells those otherwise. */
    if (*s == '\0' || strpbrk(s, "iInNxX") != NULL)
        return false;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end != '\0' || (errno == ERANGE && fabs(v) > 1.0))
        return false;
    *out = v;
    return true;
}

static const char *describe(const nl_ynode *node)
{
    switch (node->type) {
    case NL_YMAP:
        return "a map";
    case NL_YSEQ:
        return "a list";
    default:
        return nl_ynode_is_null(node) ? "nothing" : NULL;
    }
}

static int expected(const nl_ynode *node, const char *what, nl_diag *d)
{
    const char *got = describe(node);
    if (got != NULL)
        return nl_ynode_fail(d, node, "expected %s, got %s", what, got);
    if (node->quoted) /* seed: "42" */
        return nl_ynode_fail(d, node, "expected %s, got the quoted text "
                             "\"%s\" (quotes make it a string: write it "
                             "without them)", what, node->text);
    return nl_ynode_fail(d, node, "expected %s, got '%s'", what, node->text);
}

/* Whether s is a decimal number too large for a double (1e400). */
static bool beyond_double(const char *s)
{
    if (*s == '\0' || strpbrk(s, "iInNxX") != NULL)
        return false;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    return *end == '\0' && errno == ERANGE && fabs(v) > 1.0;
}

int nl_ynode_double(const nl_ynode *node, double *out, nl_diag *d)
{
    if (node->type == NL_YSCALAR && !node->quoted &&
        nl_parse_double(node->text, out))
        return 0;
    if (node->type == NL_YSCALAR && !node->quoted &&
        beyond_double(node->text))
        return nl_ynode_fail(d, node, "%s is too large (at most about "
                             "1.8e308)", node->text);
    return expected(node, "a number", d);
}

int nl_ynode_bool(const nl_ynode *node, bool *out, nl_diag *d)
{
    static const char *const yes[] = {"true", "yes", "on"};
    static const char *const no[] = {"false", "no", "off"};
    if (node->type == NL_YSCALAR && !node->quoted)
        for (size_t i = 0; i < 3; i++) {
            if (strcasecmp(node->text, yes[i]) == 0) {
                *out = true;
                return 0;
            }
            if (strcasecmp(node->text, no[i]) == 0) {
                *out = false;
                return 0;
            }
        }
    return expected(node, "true or false", d);
}

int nl_ynode_uint(const nl_ynode *node, unsigned long long max,
                  unsigned long long *out, nl_diag *d)
{
    if (node->type != NL_YSCALAR || node->quoted)
        return expected(node, "a whole number", d);
    const char *s = node->text;
    if (*s == '+')
        s++;
    if (*s < '0' || *s > '9')
        return expected(node, "a whole number", d);
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0')
        return expected(node, "a whole number", d);
    if (errno == ERANGE || v > max)
        return nl_ynode_fail(d, node, "%s is too large (at most %llu)",
                             node->text, max);
    *out = v;
    return 0;
}

int nl_ynode_string(const nl_ynode *node, const char **out, nl_diag *d)
{
    if (node->type != NL_YSCALAR || nl_ynode_is_null(node))
        return expected(node, "a word", d);
    *out = node->text;
    return 0;
}

/* Appends text to a growing buffer; returns 0 or -1. */
static int buf_add(char **buf, size_t *len, size_t *cap, const char *text)
{
    size_t n = strlen(text);
    if (*len + n + 1 > *cap) {
        size_t want = (*len + n + 1) * 2;
        char *b = realloc(*buf, want);
        if (b == NULL)
            return -1;
        *buf = b;
        *cap = want;
    }
    memcpy(*buf + *len, text, n + 1);
    *len += n;
    return 0;
}

static int flow(const nl_ynode *node, char **buf, size_t *len, size_t *cap)
{
    if (node->type == NL_YSCALAR) {
        if (!node->quoted)
            return buf_add(buf, len, cap, node->text);
        if (buf_add(buf, len, cap, "\"") < 0)
            return -1;
        for (const char *c = node->text; *c; c++) {
            char one[8];
            if (*c == '"' || *c == '\\')
                snprintf(one, sizeof(one), "\\%c", *c);
            else if ((unsigned char)*c < 0x20)
                snprintf(one, sizeof(one), "\\x%02x", (unsigned char)*c);
            else
                snprintf(one, sizeof(one), "%c", *c);
            if (buf_add(buf, len, cap, one) < 0)
                return -1;
        }
        return buf_add(buf, len, cap, "\"");
    }
    bool map = node->type == NL_YMAP;
    if (buf_add(buf, len, cap, map ? "{" : "[") < 0)
        return -1;
    for (size_t i = 0; i < node->n; i++) {
        if (i > 0 && buf_add(buf, len, cap, ", ") < 0)
            return -1;
        if (map && (flow(node->keys[i], buf, len, cap) < 0 ||
                    buf_add(buf, len, cap, ": ") < 0))
            return -1;
        if (flow(node->items[i], buf, len, cap) < 0)
            return -1;
    }
    return buf_add(buf, len, cap, map ? "}" : "]");
}

char *nl_ynode_to_flow(const nl_ynode *node)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    if (buf_add(&buf, &len, &cap, "") < 0 || flow(node, &buf, &len, &cap) < 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

int nl_ynode_check_keys(const nl_ynode *map, const char *where,
                        const char *const *allowed, size_t n, nl_diag *d)
{
    for (size_t i = 0; i < map->n; i++) {
        const nl_ynode *key = map->keys[i];
        size_t j = 0;
        while (j < n && strcmp(allowed[j], key->text) != 0)
            j++;
        if (j < n)
            continue;
        nl_suggester s;
        nl_ynode_fail(d, key, "unknown key '%s' in %s", key->text, where);
        if (nl_suggest(key->text, allowed, n, &s) != NULL)
            nl_diag_append(d, "; did you mean '%s'?", s.best);
        else {
            nl_diag_append(d, " (expected one of:");
            for (j = 0; j < n; j++)
                nl_diag_append(d, " %s", allowed[j]);
            nl_diag_append(d, ")");
        }
        return -1;
    }
    return 0;
}
