/* fuzz_settings.c - libFuzzer target: see targets.h (nl_fuzz_settings). */
#include "targets.h"

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
    nl_fuzz_settings(data, size);
    return 0;
}
