/* Measuring plans (measure.h). */
#include "measure.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "plan/planner.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double median_of(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int measure_plan(const void *onnx, size_t size, const char *name, const df_options *options,
                 const char *plan, int runs, measured_plan *out, char *err, size_t errsz)
{
    memset(out, 0, sizeof *out);
    df_options opt = *options;
    opt.plan = plan;
    df_model *model = NULL;
    df_session *session = NULL;
    cli_io io = {0};
    double *samples = NULL, *totals = NULL;
    int rc = -1;
    if (df_model_open_memory(onnx, size, name, &opt, &model) != DF_OK ||
        df_session_create(model, &session) != DF_OK) {
        snprintf(err, errsz, "%s", df_last_error());
        goto done;
    }
    if (cli_io_create(model, &io) != CLI_EXIT_OK) {
        snprintf(err, errsz, "cannot allocate the inputs and outputs");
        goto done;
    }
    cli_io_fill_random(&io, 1);
    out->ops = df_model_op_count(model);
    out->op_us = calloc((size_t)out->ops, sizeof *out->op_us);
    out->unit_last = calloc((size_t)out->ops, sizeof *out->unit_last);
    out->unit_band = calloc((size_t)out->ops, sizeof *out->unit_band);
    samples = malloc((size_t)out->ops * (size_t)runs * sizeof *samples);
    totals = malloc((size_t)runs * sizeof *totals);
    if (!out->op_us || !out->unit_last || !out->unit_band || !samples || !totals) {
        snprintf(err, errsz, "out of memory");
        goto done;
    }
    for (int i = 0; i < out->ops; i++) {
        df_op_info op;
        df_segment_info seg;
        df_model_op(model, i, &op);
        out->unit_last[i] = i;
        if (op.segment >= 0 && df_model_segment(model, op.segment, &seg) == DF_OK) {
            out->unit_last[i] = seg.last_op;
            out->unit_band[i] = seg.band_rows;
        }
    }
    if (df_session_run(session, (const float *const *)io.inputs, io.outputs) != DF_OK ||
        df_session_enable_profiling(session, 1) != DF_OK) {
        snprintf(err, errsz, "%s", df_last_error());
        goto done;
    }
    for (int r = 0; r < runs; r++) {
        double t0 = cli_now_ms();
        if (df_session_run(session, (const float *const *)io.inputs, io.outputs) != DF_OK) {
            snprintf(err, errsz, "%s", df_last_error());
            goto done;
        }
        totals[r] = (cli_now_ms() - t0) * 1e3;
        const df_op_profile *prof;
        int count;
        df_session_profile(session, &prof, &count);
        for (int i = 0; i < out->ops && i < count; i++)
            samples[(size_t)i * (size_t)runs + (size_t)r] = prof[i].duration_us;
    }
    for (int i = 0; i < out->ops; i++)
        out->op_us[i] = median_of(samples + (size_t)i * (size_t)runs, runs);
    out->total_us = median_of(totals, runs);
    rc = 0;
done:
    if (rc != 0)
        measured_plan_free(out);
    free(samples);
    free(totals);
    cli_io_destroy(&io);
    df_session_destroy(session);
    df_model_close(model);
    return rc;
}

void measure_reuse_memory(void)
{
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

static int find_unit(const df_plan_candidate *c, int n, int first, int last, int band)
{
    for (int k = 0; k < n; k++)
        if (c[k].first == first && c[k].last == last && c[k].band == band)
            return k;
    return -1;
}

int measure_candidates(const void *onnx, size_t size, const char *name, const df_options *options,
                       const char *spec, int runs, const df_plan_candidate *c, int n,
                       double *measured, double *total_us, char *err, size_t errsz)
{
    measured_plan mp;
    if (measure_plan(onnx, size, name, options, spec, runs, &mp, err, errsz) != 0)
        return -1;
    for (int i = 0; i < mp.ops; i = mp.unit_last[i] + 1) {
        int k = find_unit(c, n, i, mp.unit_last[i], mp.unit_band[i]);
        if (k >= 0)
            measured[k] = mp.op_us[i];
    }
    if (total_us)
        *total_us = mp.total_us;
    measured_plan_free(&mp);
    return 0;
}

char *pack_unmeasured(const df_plan_candidate *c, int n, const char *want, const double *measured,
                      int *segments)
{
    df_plan_spec spec = {0, malloc(((size_t)n + 1) * sizeof(df_plan_unit))};
    if (!spec.units)
        return NULL;
    int next_free = 0;
    for (int k = 0; k < n; k++)
        if ((!want || want[k]) && measured[k] == 0.0 && c[k].band > 0 && c[k].first >= next_free) {
            spec.units[spec.n++] = (df_plan_unit){c[k].first, c[k].last, c[k].band};
            next_free = c[k].last + 1;
        }
    int need = df_plan_spec_format(&spec, NULL, 0);
    char *text = malloc((size_t)need + 1);
    if (text)
        df_plan_spec_format(&spec, text, (size_t)need + 1);
    *segments = spec.n;
    free(spec.units);
    return text;
}

void measured_plan_free(measured_plan *m)
{
    free(m->op_us);
    free(m->unit_last);
    free(m->unit_band);
    m->op_us = NULL;
    m->unit_last = m->unit_band = NULL;
    m->ops = 0;
}

static int progress_shown;

void progress_draw(const char *label, double done, double elapsed_s)
{
    if (!isatty(STDERR_FILENO) && done < 1.0 && progress_shown++ % 20 != 0)
        return; /* in logs, every 20th update only */
    if (done < 0.0)
        done = 0.0;
    if (done > 1.0)
        done = 1.0;
    char bar[31];
    int filled = (int)(done * 30.0);
    for (int k = 0; k < 30; k++)
        bar[k] = k < filled ? '#' : ' ';
    bar[30] = '\0';
    double left = done > 0.01 ? elapsed_s * (1.0 - done) / done : 0.0;
    fprintf(stderr, "%s%s [%s] %3d%% %d:%02d left ", isatty(STDERR_FILENO) ? "\r" : "", label,
            bar, (int)(done * 100.0), (int)left / 60, (int)left % 60);
    if (!isatty(STDERR_FILENO))
        fputc('\n', stderr);
    fflush(stderr);
}

void progress_end(void)
{
    if (isatty(STDERR_FILENO))
        fputc('\n', stderr);
    progress_shown = 0;
}

void *read_whole_file(const char *path, size_t *size, char *err, size_t errsz)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errsz, "%s: cannot open the file", path);
        return NULL;
    }
    char *data = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 1 << 20;
            char *d = realloc(data, cap);
            if (!d) {
                free(data);
                fclose(f);
                snprintf(err, errsz, "%s: out of memory reading the file", path);
                return NULL;
            }
            data = d;
        }
        size_t got = fread(data + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(data);
        snprintf(err, errsz, "%s: read error", path);
        return NULL;
    }
    *size = n;
    return data;
}
