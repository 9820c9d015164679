/*
 * targets.h - the fuzzed entry points, one per parser, shared by the
 * libFuzzer mains (tests/fuzz/fuzz_*.c) and by the Criterion regression
 * test (tests/test_fuzz_regressions.c), so a crashing input found by the
 * fuzzer is replayed through exactly the same code.
 *
 * Each nl_fuzz_* takes bytes, feeds them to one parser, frees everything
 * and returns 0 when the parser accepted the input, 1 when it refused it
 * (a refusal is a correct outcome; a crash, hang or leak is the bug).
 *
 * The study, settings and CSV loaders read files: the bytes are written to
 * a file in a temporary directory made once per process (and removed at
 * exit).  The study's directory sits next to a configs/ directory holding
 * the shipped base configs, so `base: ../configs/gate_random_init.yaml`
 * (as in experiments/) resolves.
 */
#ifndef NL_FUZZ_TARGETS_H
#define NL_FUZZ_TARGETS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "dataset.h"
#include "plugin_loader.h"
#include "settings.h"
#include "study.h"
#include "yaml_tree.h"

/* The temporary directory (in /dev/shm, else /tmp), made on first use: DIR/experiments/ holds the
 * fuzzed files, DIR/configs/ the base configs a study may name. */
static char nl_fuzz_dir[64];

static inline void nl_fuzz_cleanup(void)
{
    if (nl_fuzz_dir[0] == '\0')
        return;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", nl_fuzz_dir);
    if (system(cmd) != 0) { /* best effort */ }
    nl_fuzz_dir[0] = '\0';
}

static inline int nl_fuzz_put(const char *path, const void *data, size_t size)
{
    /* A new file each time: rewriting one in place (O_TRUNC) makes ext4
     * flush it on close, a thousand times slower. */
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return -1;
    const char *p = data;
    while (size > 0) {
        ssize_t n = write(fd, p, size);
        if (n <= 0) {
            close(fd);
            return -1;
        }
        p += n;
        size -= (size_t)n;
    }
    return close(fd);
}

static inline const char *nl_fuzz_tmpdir(void)
{
    static const char *const bases[][2] = {
        {"gate_random_init.yaml",
         "name: gate\nseed: 1\ndata: {generator: and}\n"
         "model: {init: uniform, init_scale: 0.5}\nactivation: sigmoid\n"
         "loss: mse\noptimizer: {name: gradient_descent, learning_rate: 2.0}\n"
         "training:\n  epochs: 5000\n  stop: {loss_below: 0.01}\n"},
        {"blobs_sigmoid.yaml",
         "name: blobs\nseed: 1\ndata:\n  generator: blobs\n  samples: 256\n"
         "  features: 2\n  separation: 4.0\n  noise: 1.0\n"
         "  normalize: standardize\nmodel: {init: normal, init_scale: 0.1}\n"
         "activation: sigmoid\nloss: mse\n"
         "optimizer: {name: gradient_descent, learning_rate: 0.5}\n"
         "training:\n  epochs: 300\n  stop: {loss_below: 0.04}\n"},
        {"sigmoid_mse.yaml",
         "name: sigmoid_mse\nseed: 42\ndata:\n  generator: and\n"
         "model:\n  init: zeros\nactivation: sigmoid\nloss: mse\n"
         "optimizer: {name: gradient_descent, learning_rate: 2.0}\n"
         "training:\n  epochs: 20000\n  stop: {loss_below: 0.01}\n"},
        /* Bases that are not configs: a study must refuse them. */
        {"list.yaml", "- data\n- name: x\n"},
        {"scalar.yaml", "just text\n"},
        {"empty.yaml", ""},
    };
    if (nl_fuzz_dir[0] != '\0')
        return nl_fuzz_dir;
    /* Memory (/dev/shm) when there is one: no disk in the loop. */
    char dir[64];
    struct stat st;
    snprintf(dir, sizeof(dir), "%s/nnlab-fuzz-XXXXXX",
             stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) &&
                     access("/dev/shm", W_OK) == 0
                 ? "/dev/shm" : "/tmp");
    if (mkdtemp(dir) == NULL)
        abort();
    snprintf(nl_fuzz_dir, sizeof(nl_fuzz_dir), "%s", dir);
    atexit(nl_fuzz_cleanup);
    char path[256];
    snprintf(path, sizeof(path), "%s/experiments", dir);
    if (mkdir(path, 0700) != 0)
        abort();
    snprintf(path, sizeof(path), "%s/configs", dir);
    if (mkdir(path, 0700) != 0)
        abort();
    for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
        snprintf(path, sizeof(path), "%s/configs/%s", dir, bases[i][0]);
        if (nl_fuzz_put(path, bases[i][1], strlen(bases[i][1])) != 0)
            abort();
    }
    return nl_fuzz_dir;
}

/* Writes the bytes to DIR/experiments/NAME; returns the path (static). */
static inline const char *nl_fuzz_file(const char *name, const uint8_t *data,
                                       size_t size)
{
    static char path[256];
    snprintf(path, sizeof(path), "%s/experiments/%s", nl_fuzz_tmpdir(), name);
    if (nl_fuzz_put(path, data, size) != 0)
        abort();
    return path;
}

/* YAML bytes -> tree -> experiment config (built-in plugins only; a path:
 * plugin is opened without running its code). */
static inline int nl_fuzz_config(const uint8_t *data, size_t size)
{
    nl_diag d;
    nl_ynode *root = nl_yaml_parse((const char *)data, size, "fuzz.yaml", &d);
    if (root == NULL)
        return 1;
    nl_registry *reg = nl_registry_new(NULL, 0);
    if (reg == NULL)
        abort();
    nl_registry_skip_numeric_check(reg);
    nl_config cfg;
    int rc = nl_config_from_tree(&cfg, root, "fuzz.yaml", reg, &d);
    if (rc == 0) {
        /* The resolved config is written for every run: exercise it too. */
        FILE *null = fopen("/dev/null", "w");
        if (null != NULL) {
            nl_config_write(&cfg, null);
            fclose(null);
        }
        nl_config_free(&cfg);
    }
    nl_registry_free(reg);
    nl_ynode_free(root);
    return rc == 0 ? 0 : 1;
}

/* Bytes -> a study file -> expanded and checked runs. */
static inline int nl_fuzz_study(const uint8_t *data, size_t size)
{
    const char *path = nl_fuzz_file("study.yaml", data, size);
    nl_registry *reg = nl_registry_new(NULL, 0);
    if (reg == NULL)
        abort();
    nl_registry_skip_numeric_check(reg);
    nl_study s;
    nl_diag d;
    int rc = nl_study_load(&s, path, reg, &d);
    if (rc == 0) {
        FILE *null = fopen("/dev/null", "w");
        if (null != NULL) {
            nl_study_write(&s, null);
            fclose(null);
        }
        nl_study_free(&s);
    }
    nl_registry_free(reg);
    return rc == 0 ? 0 : 1;
}

/* Bytes -> runner.ini -> settings. */
static inline int nl_fuzz_settings(const uint8_t *data, size_t size)
{
    const char *path = nl_fuzz_file("runner.ini", data, size);
    nl_settings s;
    nl_diag d;
    int rc = nl_settings_load(&s, path, "$ORIGIN/plugins:$ORIGIN/../lib",
                              "/nonexistent/bin", &d);
    if (rc == 0) {
        if (nl_settings_add_plugin_dir(&s, "extra", &d) == 0) { /* -P */ }
        nl_settings_free(&s);
    }
    return rc == 0 ? 0 : 1;
}

/* Bytes -> data.csv -> a data set: once with the defaults (target the last
 * column, every other column a feature), once naming a target and two
 * features as a config may. */
static inline int nl_fuzz_csv(const uint8_t *data, size_t size)
{
    const char *path = nl_fuzz_file("data.csv", data, size);
    char a[] = "a", b[] = "b";
    char *const columns[] = {a, b};
    nl_dataset ds;
    nl_diag d;
    int ok = 0;
    if (nl_data_csv(path, NULL, NULL, NULL, 0, &ds, &d) == 0) {
        nl_dataset train, test;
        ok = 1;
        nl_data_config quarter = {.test_fraction = 0.25};
        if (nl_data_split(&ds, &quarter, 1, &train, &test, &d) == 0) {
            nl_data_normalize(NL_NORMALIZE_STANDARDIZE, &train, &test);
            nl_dataset_free(&train);
            nl_dataset_free(&test);
        }
    }
    if (nl_data_csv(path, NULL, "y", columns, 2, &ds, &d) == 0) {
        ok = 1;
        nl_dataset_free(&ds);
    }
    return ok ? 0 : 1;
}

/* The libFuzzer entry points of one target: a fuzz_*.c defines
 * NL_FUZZ_TARGET as one of the nl_fuzz_* functions above, then includes
 * this file.  (test_fuzz_regressions.c includes it without: no main.) */
#ifdef NL_FUZZ_TARGET
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* A hostile file name such as /dev/stdin must not wait for a terminal. */
    if (freopen("/dev/null", "r", stdin) == NULL)
        return 0;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    NL_FUZZ_TARGET(data, size);
    return 0;
}
#endif

#endif
