/*
 * test_fuzz_regressions.c - every input the fuzzers found a bug with
 * (tests/fuzz/regressions/<target>/), and every seed of their corpora
 * (tests/fuzz/corpus/<target>/), replayed through the very entry points
 * the fuzzers call (tests/fuzz/targets.h).  Under `make check-asan` this
 * catches the crash, leak or undefined behaviour coming back.
 */
#include "helpers.h"

#include <dirent.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "fuzz/targets.h"

typedef int (*fuzz_fn)(const uint8_t *data, size_t size);

/* Reads a whole (possibly binary) file. */
static uint8_t *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f != NULL, "%s: %s", path, strerror(errno));
    size_t cap = 4096, len = 0, n;
    uint8_t *buf = malloc(cap);
    cr_assert(buf != NULL);
    while ((n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            buf = realloc(buf, cap *= 2);
            cr_assert(buf != NULL);
        }
    }
    fclose(f);
    *size = len;
    return buf;
}

/* Feeds every file of tests/fuzz/<set>/<target>/ to fn; returns how many
 * there were and how many the parser accepted. */
static size_t replay(const char *set, const char *target, fuzz_fn fn,
                     size_t *accepted)
{
    char dir[256];
    snprintf(dir, sizeof(dir), "tests/fuzz/%s/%s", set, target);
    DIR *dh = opendir(dir);
    cr_assert(dh != NULL, "%s: %s (tests run from the repository root)",
              dir, strerror(errno));
    size_t files = 0;
    *accepted = 0;
    struct dirent *e;
    while ((e = readdir(dh)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        size_t size;
        uint8_t *data = slurp(path, &size);
        int rc = fn(data, size);
        cr_assert(rc == 0 || rc == 1, "%s: returned %d", path, rc);
        *accepted += rc == 0;
        free(data);
        files++;
    }
    closedir(dh);
    return files;
}

Test(fuzz_regressions, config)
{
    size_t ok;
    replay("regressions", "config", nl_fuzz_config, &ok);
}

Test(fuzz_regressions, study)
{
    size_t ok;
    cr_assert(gt(sz, replay("regressions", "study", nl_fuzz_study, &ok), 0));
}

Test(fuzz_regressions, settings)
{
    size_t ok;
    replay("regressions", "settings", nl_fuzz_settings, &ok);
}

Test(fuzz_regressions, csv)
{
    size_t ok;
    replay("regressions", "csv", nl_fuzz_csv, &ok);
}

/* The seed corpora: the shipped files among them must be accepted. */
Test(fuzz_corpus, config)
{
    size_t ok;
    cr_assert(gt(sz, replay("corpus", "config", nl_fuzz_config, &ok), 20));
    cr_assert(ge(sz, ok, 5), "the shipped configs are accepted");
}

Test(fuzz_corpus, study)
{
    size_t ok;
    cr_assert(gt(sz, replay("corpus", "study", nl_fuzz_study, &ok), 10));
    cr_assert(ge(sz, ok, 3), "the shipped studies are accepted");
}

Test(fuzz_corpus, settings)
{
    size_t ok;
    cr_assert(gt(sz, replay("corpus", "settings", nl_fuzz_settings, &ok), 5));
    cr_assert(ge(sz, ok, 1), "runner.ini is accepted");
}

Test(fuzz_corpus, csv)
{
    size_t ok;
    cr_assert(gt(sz, replay("corpus", "csv", nl_fuzz_csv, &ok), 5));
    cr_assert(ge(sz, ok, 1), "iris2.csv is accepted");
}

/* The crash the study regression holds: a base config that is a list. */
Test(fuzz_regressions, a_study_whose_base_is_a_list_is_refused)
{
    const char *text = "base: ../configs/list.yaml\nsweep: {seed: [1]}\n";
    cr_assert(eq(int, nl_fuzz_study((const uint8_t *)text, strlen(text)), 1));
}
