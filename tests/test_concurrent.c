/* Two threads run one loaded model at the same time, each with its own
 * session, and must get exactly what each gets running alone.
 *
 * usage: test_concurrent MODEL.onnx [ROUNDS] */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deepfirst.h"

typedef struct worker {
    const df_model *model;
    df_session *session;
    float *input, *output, *expected;
    int64_t in_n, out_n;
    int rounds;
    int mismatches;
    df_status status;
} worker;

static void *run_worker(void *arg)
{
    worker *w = arg;
    for (int r = 0; r < w->rounds && w->status == DF_OK; r++) {
        memset(w->output, 0, (size_t)w->out_n * sizeof(float));
        const float *in[1] = {w->input};
        float *out[1] = {w->output};
        w->status = df_session_run(w->session, in, out);
        if (w->status == DF_OK && memcmp(w->output, w->expected, (size_t)w->out_n * sizeof(float)) != 0)
            w->mismatches++;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_concurrent MODEL.onnx [ROUNDS]\n");
        return 2;
    }
    int rounds = argc > 2 ? atoi(argv[2]) : 5;
    df_options opt;
    df_options_init(&opt);
    opt.threads = 1;
    df_model *model = NULL;
    if (df_model_open(argv[1], &opt, &model) != DF_OK) {
        fprintf(stderr, "open: %s\n", df_last_error());
        return 1;
    }
    df_tensor_info in, out;
    if (df_model_input_count(model) != 1 || df_model_output_count(model) < 1 ||
        df_model_input(model, 0, &in) != DF_OK || df_model_output(model, 0, &out) != DF_OK) {
        fprintf(stderr, "test_concurrent needs a model with one input\n");
        df_model_close(model);
        return 1;
    }
    int n_out = df_model_output_count(model);
    worker w[2];
    int failed = 0, passed = 0;
    for (int t = 0; t < 2; t++) {
        memset(&w[t], 0, sizeof w[t]);
        w[t].model = model;
        w[t].rounds = rounds;
        w[t].in_n = in.numel;
        w[t].out_n = out.numel;
        w[t].input = malloc((size_t)in.numel * sizeof(float));
        w[t].output = malloc((size_t)out.numel * sizeof(float));
        w[t].expected = malloc((size_t)out.numel * sizeof(float));
        if (!w[t].input || !w[t].output || !w[t].expected) {
            fprintf(stderr, "out of memory\n");
            return 1;
        }
        /* different inputs per thread, so a mixed-up arena would show */
        unsigned s = 12345u + 777u * (unsigned)t;
        for (int64_t i = 0; i < in.numel; i++) {
            s = s * 1103515245u + 12345u;
            w[t].input[i] = (float)((s >> 8) & 0xffff) / 32768.0f - 1.0f;
        }
        if (df_session_create(model, &w[t].session) != DF_OK) {
            fprintf(stderr, "session: %s\n", df_last_error());
            return 1;
        }
        /* every output but the first goes to a scratch buffer */
        float **outs = calloc((size_t)n_out, sizeof *outs);
        for (int k = 0; k < n_out && outs; k++) {
            df_tensor_info info;
            df_model_output(model, k, &info);
            outs[k] = k == 0 ? w[t].expected : malloc((size_t)info.numel * sizeof(float));
        }
        const float *ins[1] = {w[t].input};
        if (!outs || df_session_run(w[t].session, ins, outs) != DF_OK) {
            fprintf(stderr, "run alone: %s\n", df_last_error());
            return 1;
        }
        for (int k = 1; k < n_out; k++)
            free(outs[k]);
        free(outs);
    }
    if (n_out != 1) {
        fprintf(stderr, "skipping concurrent part: model has %d outputs\n", n_out);
    } else {
        pthread_t th[2];
        for (int t = 0; t < 2; t++)
            pthread_create(&th[t], NULL, run_worker, &w[t]);
        for (int t = 0; t < 2; t++)
            pthread_join(th[t], NULL);
        for (int t = 0; t < 2; t++) {
            int ok = w[t].status == DF_OK && w[t].mismatches == 0;
            printf("%s thread %d: %d rounds, %d differing from running alone%s%s\n",
                   ok ? "PASS" : "FAIL", t, rounds, w[t].mismatches,
                   w[t].status == DF_OK ? "" : ", error: ", w[t].status == DF_OK ? "" : df_last_error());
            ok ? passed++ : failed++;
        }
        /* the two threads had different inputs: outputs must differ too */
        int differ = memcmp(w[0].expected, w[1].expected, (size_t)out.numel * sizeof(float)) != 0;
        printf("%s different inputs give different outputs\n", differ ? "PASS" : "FAIL");
        differ ? passed++ : failed++;
    }
    for (int t = 0; t < 2; t++) {
        df_session_destroy(w[t].session);
        free(w[t].input);
        free(w[t].output);
        free(w[t].expected);
    }
    df_model_close(model);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
