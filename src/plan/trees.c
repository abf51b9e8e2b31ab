/* The boosted-tree evaluator (see trees.h): a strict parser of XGBoost's text
 * dump and a walk over one flat array of nodes.
 *
 * The file is a cost model the planner trusts, so the parser accepts exactly
 * what tools/cli/xgb_train.c writes and nothing else: every line is checked,
 * every child reference must name a node of the same tree with a larger id,
 * every node but the root must have exactly one parent, and the header's tree
 * count catches a file cut short between trees. Errors name the source and
 * line. */
#define _POSIX_C_SOURCE 200809L
#include "plan/trees.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One node. Children are indices into df_trees.nodes (not XGBoost's ids),
 * resolved when the tree's last line has been read. One small struct per
 * node rather than one array per field, so a step of the walk touches one
 * cache line, not five. */
typedef struct tree_node {
    int32_t feature; /* split feature, or -1 for a leaf */
    float value;     /* the split threshold, or the leaf's value */
    int32_t yes;     /* where feature < value goes */
    int32_t no;      /* where feature >= value goes */
    int32_t missing; /* where a NaN feature goes: yes or no */
} tree_node;

struct df_trees {
    int n_features;
    float base;
    int n_trees;
    int32_t *roots; /* index of each tree's node 0 */
    tree_node *nodes; /* all trees' nodes, tree after tree */
};

/* Longest node line XGBoost writes, past its indentation, is about 90
 * characters ("2147483647:[f1048575<-1.17549435e-38] yes=...,missing=..."). */
enum { MAX_LINE = 160, MAX_FEATURES = 1 << 20 };
#define MAX_FILE_BYTES ((size_t)1 << 30)

/* The parser's state: nodes of all trees so far, plus, per node, XGBoost's
 * id and the line it came from (needed until its tree is resolved). */
typedef struct parser {
    const char *source;
    int line;
    tree_node *nodes;
    int32_t *ids;
    int *lines;
    size_t count, capacity;
    int32_t *roots;
    size_t n_trees, roots_capacity;
    size_t tree_start; /* first node of the tree being read */
    int tree_line;     /* and the line of its "booster[K]:" */
} parser;

static df_status parse_error(const parser *p, int line, const char *what)
{
    return df_fail(DF_ERR_PARSE, "%s: line %d: %s", p->source, line, what);
}

/* ---- tokens: all on a NUL-terminated copy of one line ---- */

/* A decimal integer in [0, max]: digits only, no sign, no spaces. */
static int read_uint(const char **s, long max, long *out)
{
    const char *c = *s;
    long v = 0;
    if (*c < '0' || *c > '9')
        return 0;
    for (; *c >= '0' && *c <= '9'; c++) {
        if (v > (max - (*c - '0')) / 10)
            return 0;
        v = v * 10 + (*c - '0');
    }
    *s = c;
    *out = v;
    return 1;
}

/* A float as XGBoost prints it (max_digits10 significant digits, so it reads
 * back exactly with strtof; strtod then a cast could round twice). The
 * caller has set the "C" numeric locale. Refuses leading blanks, which
 * strtof would skip. */
static int read_float(const char **s, float *out)
{
    const char *c = *s;
    if (*c == ' ' || *c == '\t' || *c == '\0')
        return 0;
    char *end;
    float v = strtof(c, &end);
    if (end == c)
        return 0;
    *s = end;
    *out = v;
    return 1;
}

static int read_literal(const char **s, const char *literal)
{
    size_t n = strlen(literal);
    if (strncmp(*s, literal, n) != 0)
        return 0;
    *s += n;
    return 1;
}

/* ---- storing nodes ---- */

static df_status add_node(parser *p, const tree_node *node, int32_t id)
{
    if (p->count >= INT32_MAX)
        return parse_error(p, p->line, "too many nodes");
    if (p->count == p->capacity) {
        /* The three arrays grow together; capacity moves once all have. */
        size_t cap = p->capacity ? p->capacity * 2 : 256, bytes;
        if (df_mul_overflows(cap, sizeof *p->nodes, &bytes))
            return df_fail(DF_ERR_OUT_OF_MEMORY, "trees: too many nodes");
        tree_node *nodes = realloc(p->nodes, bytes);
        if (nodes)
            p->nodes = nodes;
        int32_t *ids = nodes ? realloc(p->ids, cap * sizeof *ids) : NULL;
        if (ids)
            p->ids = ids;
        int *lines = ids ? realloc(p->lines, cap * sizeof *lines) : NULL;
        if (lines)
            p->lines = lines;
        if (!lines)
            return df_fail(DF_ERR_OUT_OF_MEMORY, "trees: out of memory");
        p->capacity = cap;
    }
    p->nodes[p->count] = *node;
    p->ids[p->count] = id;
    p->lines[p->count] = p->line;
    p->count++;
    return DF_OK;
}

/* ---- lines ---- */

/* "deepfirst-trees 1 features N trees T base B" */
static df_status parse_header(parser *p, const char *text, int *n_features, long *n_trees,
                              float *base)
{
    const char *s = text;
    long version, features;
    if (!read_literal(&s, "deepfirst-trees "))
        return parse_error(p, p->line, "not a deepfirst-trees file (no header line)");
    if (!read_uint(&s, 1000, &version) || version != 1)
        return parse_error(p, p->line, "unsupported deepfirst-trees version (this reads 1)");
    if (!read_literal(&s, " features ") || !read_uint(&s, MAX_FEATURES, &features) ||
        features < 1)
        return parse_error(p, p->line, "header: expected 'features N' with 1 <= N <= 1048576");
    if (!read_literal(&s, " trees ") || !read_uint(&s, INT32_MAX, n_trees))
        return parse_error(p, p->line, "header: expected 'trees T'");
    if (!read_literal(&s, " base ") || !read_float(&s, base) || !isfinite(*base))
        return parse_error(p, p->line, "header: expected 'base B' with B a finite number");
    if (*s != '\0')
        return parse_error(p, p->line, "header: unexpected text after the base score");
    *n_features = (int)features;
    return DF_OK;
}

/* "ID:leaf=V" or "ID:[fK<T] yes=A,no=B,missing=C", indentation removed. */
static df_status parse_node(parser *p, const char *text, int n_features)
{
    const char *s = text;
    long id, feature, yes, no, missing;
    tree_node node = {.feature = -1, .yes = -1, .no = -1, .missing = -1};
    if (!read_uint(&s, INT32_MAX, &id) || !read_literal(&s, ":"))
        return parse_error(p, p->line, "expected a node 'ID:' (ID from 0 to 2147483647)");
    if (read_literal(&s, "leaf=")) {
        if (!read_float(&s, &node.value) || !isfinite(node.value))
            return parse_error(p, p->line, "expected a finite leaf value after 'leaf='");
    } else {
        if (!read_literal(&s, "[f") || !read_uint(&s, INT32_MAX, &feature))
            return parse_error(p, p->line, "expected 'leaf=V' or '[fK<T]'");
        if (feature >= n_features)
            return df_fail(DF_ERR_PARSE, "%s: line %d: feature f%ld, but the header says %d features",
                           p->source, p->line, feature, n_features);
        if (!read_literal(&s, "<") || !read_float(&s, &node.value) || isnan(node.value) ||
            !read_literal(&s, "]"))
            return parse_error(p, p->line, "expected '<T]' with T a number");
        if (!read_literal(&s, " yes=") || !read_uint(&s, INT32_MAX, &yes) ||
            !read_literal(&s, ",no=") || !read_uint(&s, INT32_MAX, &no) ||
            !read_literal(&s, ",missing=") || !read_uint(&s, INT32_MAX, &missing))
            return parse_error(p, p->line, "expected ' yes=A,no=B,missing=C' after the split");
        /* XGBoost numbers children after their parent; requiring it rules
         * out loops whatever else is wrong with the file. */
        if (yes <= id || no <= id)
            return parse_error(p, p->line, "a child's id must be larger than its parent's");
        if (yes == no)
            return parse_error(p, p->line, "yes and no are the same node");
        if (missing != yes && missing != no)
            return parse_error(p, p->line, "missing must be the yes or the no child");
        node.feature = (int32_t)feature;
        node.yes = (int32_t)yes;
        node.no = (int32_t)no;
        node.missing = (int32_t)missing;
    }
    if (*s != '\0')
        return parse_error(p, p->line, "unexpected text at the end of the node (a dump with stats?)");
    return add_node(p, &node, (int32_t)id);
}

/* ---- resolving a tree: XGBoost ids -> indices, structure checks ---- */

typedef struct id_index {
    int32_t id;
    int32_t index;
} id_index;

static int compare_ids(const void *a, const void *b)
{
    int32_t x = ((const id_index *)a)->id, y = ((const id_index *)b)->id;
    return (x > y) - (x < y);
}

static int32_t find_id(const id_index *sorted, size_t n, int32_t id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sorted[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && sorted[lo].id == id ? sorted[lo].index : -1;
}

static df_status resolve_children(parser *p, const id_index *sorted, size_t n, int *parents)
{
    for (size_t i = p->tree_start; i < p->count; i++) {
        tree_node *node = &p->nodes[i];
        if (node->feature < 0)
            continue;
        int32_t yes = find_id(sorted, n, node->yes), no = find_id(sorted, n, node->no);
        if (yes < 0 || no < 0)
            return df_fail(DF_ERR_PARSE, "%s: line %d: node %d refers to node %d, which tree %zu lacks",
                           p->source, p->lines[i], p->ids[i], yes < 0 ? node->yes : node->no,
                           p->n_trees - 1);
        node->missing = node->missing == node->yes ? yes : no;
        node->yes = yes;
        node->no = no;
        parents[yes - (int32_t)p->tree_start]++;
        parents[no - (int32_t)p->tree_start]++;
    }
    for (size_t i = p->tree_start; i < p->count; i++) {
        int k = parents[i - p->tree_start];
        if (p->ids[i] != 0 && k != 1)
            return df_fail(DF_ERR_PARSE, "%s: line %d: node %d %s", p->source, p->lines[i],
                           p->ids[i], k == 0 ? "is not reached from node 0" : "has two parents");
    }
    return DF_OK;
}

/* Called at each "booster[K]:" line after the first and at the end. */
static df_status finish_tree(parser *p)
{
    size_t n = p->count - p->tree_start;
    if (n == 0)
        return df_fail(DF_ERR_PARSE, "%s: line %d: booster[%zu] has no nodes", p->source,
                       p->tree_line, p->n_trees - 1);
    id_index *sorted = malloc(n * sizeof *sorted);
    int *parents = calloc(n, sizeof *parents);
    df_status st = DF_OK;
    if (!sorted || !parents) {
        st = df_fail(DF_ERR_OUT_OF_MEMORY, "trees: out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        sorted[i] = (id_index){p->ids[p->tree_start + i], (int32_t)(p->tree_start + i)};
    qsort(sorted, n, sizeof *sorted, compare_ids);
    for (size_t i = 1; i < n; i++)
        if (sorted[i].id == sorted[i - 1].id) {
            int32_t later = sorted[i].index > sorted[i - 1].index ? sorted[i].index : sorted[i - 1].index;
            st = df_fail(DF_ERR_PARSE, "%s: line %d: node %d appears twice", p->source,
                         p->lines[later], sorted[i].id);
            goto done;
        }
    if (sorted[0].id != 0) {
        st = parse_error(p, p->lines[p->tree_start], "the tree has no node 0");
        goto done;
    }
    st = resolve_children(p, sorted, n, parents);
    if (st == DF_OK)
        p->roots[p->n_trees - 1] = sorted[0].index;
done:
    free(sorted);
    free(parents);
    return st;
}

/* "booster[K]:" with K the next tree's number. */
static df_status start_tree(parser *p, const char *text)
{
    const char *s = text;
    long k;
    if (!read_literal(&s, "booster[") || !read_uint(&s, INT32_MAX, &k) ||
        !read_literal(&s, "]:") || *s != '\0')
        return parse_error(p, p->line, "expected 'booster[K]:'");
    if ((size_t)k != p->n_trees)
        return df_fail(DF_ERR_PARSE, "%s: line %d: booster[%ld], expected booster[%zu]",
                       p->source, p->line, k, p->n_trees);
    if (p->n_trees > 0) {
        df_status st = finish_tree(p);
        if (st != DF_OK)
            return st;
    }
    if (p->n_trees == p->roots_capacity) {
        /* Fewer trees than lines, so this cannot overflow. */
        size_t cap = p->roots_capacity ? p->roots_capacity * 2 : 64;
        int32_t *roots = realloc(p->roots, cap * sizeof *roots);
        if (!roots)
            return df_fail(DF_ERR_OUT_OF_MEMORY, "trees: out of memory");
        p->roots = roots;
        p->roots_capacity = cap;
    }
    p->roots[p->n_trees++] = -1;
    p->tree_start = p->count;
    p->tree_line = p->line;
    return DF_OK;
}

/* ---- the whole text ---- */

static df_status parse_lines(parser *p, const char *text, size_t len, df_trees *t)
{
    long declared_trees = 0;
    size_t pos = 0;
    for (p->line = 1; pos < len; p->line++) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        if (!nl)
            return parse_error(p, p->line, "the last line has no newline (file cut short?)");
        size_t end = (size_t)(nl - text);
        int first = p->line == 1;
        if (!first) /* indentation shows depth; the ids carry the structure */
            while (pos < end && text[pos] == '\t')
                pos++;
        char buf[MAX_LINE + 1];
        size_t n = end - pos;
        if (n > MAX_LINE)
            return parse_error(p, p->line, "line too long");
        memcpy(buf, text + pos, n);
        buf[n] = '\0';
        if (strlen(buf) != n)
            return parse_error(p, p->line, "a NUL byte in the text");
        df_status st;
        if (first)
            st = parse_header(p, buf, &t->n_features, &declared_trees, &t->base);
        else if (buf[0] == 'b')
            st = start_tree(p, buf);
        else if (p->n_trees == 0)
            st = parse_error(p, p->line, "a node before the first 'booster[0]:'");
        else
            st = parse_node(p, buf, t->n_features);
        if (st != DF_OK)
            return st;
        pos = end + 1;
    }
    if (p->line == 1)
        return df_fail(DF_ERR_PARSE, "%s: empty (no header line)", p->source);
    if (p->n_trees > 0) {
        df_status st = finish_tree(p);
        if (st != DF_OK)
            return st;
    }
    if ((size_t)declared_trees != p->n_trees)
        return df_fail(DF_ERR_PARSE, "%s: line %d: %zu trees, but the header says %ld (file cut short?)",
                       p->source, p->line - 1, p->n_trees, declared_trees);
    return DF_OK;
}

df_status df_trees_parse(const char *text, size_t len, const char *source, df_trees **out)
{
    if (!out || (!text && len > 0))
        return df_fail(DF_ERR_INVALID_ARGUMENT, "df_trees_parse: NULL argument");
    *out = NULL;
    if (len > MAX_FILE_BYTES) /* also keeps line numbers within an int */
        return df_fail(DF_ERR_PARSE, "%s: larger than 1 GiB, not a trees file",
                       source ? source : "<trees>");
    parser p = {.source = source ? source : "<trees>"};
    df_trees *t = calloc(1, sizeof *t);
    if (!t)
        return df_fail(DF_ERR_OUT_OF_MEMORY, "trees: out of memory");
    /* strtof follows LC_NUMERIC; an application with a ',' decimal locale
     * must still read XGBoost's '.'. uselocale changes this thread only. */
    locale_t c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    locale_t previous = c_locale ? uselocale(c_locale) : (locale_t)0;
    df_status st = parse_lines(&p, text, len, t);
    if (c_locale) {
        uselocale(previous);
        freelocale(c_locale);
    }
    free(p.ids);
    free(p.lines);
    if (st != DF_OK) {
        free(p.nodes);
        free(p.roots);
        free(t);
        return st;
    }
    t->nodes = p.nodes;
    t->roots = p.roots;
    t->n_trees = (int)p.n_trees;
    *out = t;
    return DF_OK;
}

df_status df_trees_load(const char *path, df_trees **out)
{
    if (!path || !out)
        return df_fail(DF_ERR_INVALID_ARGUMENT, "df_trees_load: NULL argument");
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return df_fail(DF_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    /* Read in chunks rather than trusting ftell: works on pipes too. */
    char *text = NULL;
    size_t len = 0, cap = 0;
    df_status st = DF_OK;
    for (;;) {
        if (len == cap) {
            if (cap >= MAX_FILE_BYTES) {
                st = df_fail(DF_ERR_PARSE, "%s: larger than 1 GiB, not a trees file", path);
                break;
            }
            size_t new_cap = cap ? cap * 2 : 65536;
            char *bigger = realloc(text, new_cap);
            if (!bigger) {
                st = df_fail(DF_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
                break;
            }
            text = bigger;
            cap = new_cap;
        }
        size_t got = fread(text + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f))
                st = df_fail(DF_ERR_IO, "%s: read error", path);
            break;
        }
    }
    fclose(f);
    if (st == DF_OK)
        st = df_trees_parse(text, len, path, out);
    free(text);
    return st;
}

int df_trees_feature_count(const df_trees *t) { return t ? t->n_features : 0; }

double df_trees_predict(const df_trees *t, const float *features)
{
    /* XGBoost compares the float feature with the float threshold and adds
     * the leaves to a float, base first then tree by tree; doing the same
     * gives its predictions bit for bit. */
    float sum = t->base;
    const tree_node *nodes = t->nodes;
    for (int k = 0; k < t->n_trees; k++) {
        const tree_node *node = &nodes[t->roots[k]];
        while (node->feature >= 0) {
            float v = features[node->feature];
            int32_t next = isnan(v) ? node->missing : v < node->value ? node->yes : node->no;
            node = &nodes[next];
        }
        sum += node->value;
    }
    return sum;
}

void df_trees_free(df_trees *t)
{
    if (!t)
        return;
    free(t->nodes);
    free(t->roots);
    free(t);
}
