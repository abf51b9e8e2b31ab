/*
 * deepfirst: the command-line tool. main() only dispatches to one cmd_*.c
 * file per command; each parses its own options and prints its own --help.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command COMMANDS[] = {
    {"info", cmd_info, "describe a model: inputs, outputs, ops, parameters, FLOPs, memory"},
    {"run", cmd_run, "run a model once on .npy or random inputs"},
    {"bench", cmd_bench, "measure latency, memory and per-op time"},
    {"plan", cmd_plan, "show the schedule: depth-first segments, bands, working sets"},
    {"calibrate", cmd_calibrate, "measure this machine and train the planner's cost model"},
    {"tune", cmd_tune, "measure a model's best predicted plans and cache the fastest"},
    {"evaluate", cmd_evaluate, "measure the planner against its whole plan space (bench/)"},
};
#define COMMAND_COUNT (sizeof COMMANDS / sizeof COMMANDS[0])

static void print_usage(FILE *out)
{
    fputs("usage: deepfirst COMMAND MODEL [options]\n"
          "       deepfirst --help | --version\n"
          "\n"
          "commands:\n",
          out);
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        fprintf(out, "  %-10s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    fputs("\n"
          "options shared by the commands:\n"
          "  -t, --threads N          worker threads (0 = all cores, the default)\n"
          "      --schedule S         layer, depth or auto (default auto)\n"
          "  -h, --help               help for one command: deepfirst COMMAND --help\n",
          out);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_usage(stderr);
        return cli_usage_error(NULL, "no command given");
    }
    const char *name = argv[1];
    if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "help") == 0) {
        print_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
        printf("deepfirst %s\n", df_version());
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        if (strcmp(name, COMMANDS[i].name) == 0)
            return COMMANDS[i].run(argc - 1, argv + 1);
    if (name[0] == '-')
        return cli_usage_error(NULL, "unknown option '%s'; a command comes first", name);
    return cli_usage_error(NULL, "unknown command '%s'", name);
}
