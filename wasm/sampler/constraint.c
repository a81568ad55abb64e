// The constraint engine of constraint.h: the vocabulary trie, the lazy DFA over an NFA, and
// the cached allowed-token masks.
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <wasm_simd128.h>

#include "constraint.h"
#include "sampler.h"

// ---- the vocabulary trie ----------------------------------------------------------------

struct xl_vocab_trie {
  int n_tokens;
  int n_nodes;
  uint8_t *bytes;        // a copy of every token's bytes, token i at [offsets[i], offsets[i + 1])
  int32_t *offsets;
  int32_t *first_child;  // per node; -1: none. Children are in byte order.
  int32_t *next_sibling; // per node; -1: last
  uint8_t *label;        // per node: the byte that leads to it (root: unused)
  int32_t *first_token;  // per node: a token whose bytes end here; -1: none
  int32_t *next_token;   // per token: another token with the same bytes; -1: none
};

// qsort has no context argument: the token table being sorted.
static const uint8_t *sort_bytes;
static const int32_t *sort_offsets;

static int compare_tokens(const void *a, const void *b) {
  const int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  const int lx = sort_offsets[x + 1] - sort_offsets[x], ly = sort_offsets[y + 1] - sort_offsets[y];
  const int c = memcmp(sort_bytes + sort_offsets[x], sort_bytes + sort_offsets[y], (size_t)(lx < ly ? lx : ly));
  if (c != 0) return c;
  return lx != ly ? lx - ly : x - y;
}

static int common_prefix(const uint8_t *a, int la, const uint8_t *b, int lb) {
  int n = 0;
  while (n < la && n < lb && a[n] == b[n]) n++;
  return n;
}

void xl_trie_free(xl_vocab_trie *t) {
  if (!t) return;
  free(t->bytes);
  free(t->offsets);
  free(t->first_child);
  free(t->next_sibling);
  free(t->label);
  free(t->first_token);
  free(t->next_token);
  free(t);
}

xl_vocab_trie *xl_trie_new(int n_tokens, const uint8_t *bytes, const int32_t *offsets, const uint8_t *usable) {
  if (n_tokens < 1 || !bytes || !offsets || !usable || offsets[0] != 0) return NULL;
  int n_order = 0, max_len = 0;
  for (int i = 0; i < n_tokens; i++) {
    const int len = offsets[i + 1] - offsets[i];
    if (len < 0) return NULL;
    if (usable[i] && len > 0) n_order++;
    if (len > max_len) max_len = len;
  }
  int32_t *order = malloc((size_t)(n_order + 1) * sizeof *order);
  int32_t *path = malloc((size_t)(max_len + 1) * sizeof *path);
  xl_vocab_trie *t = calloc(1, sizeof *t);
  if (!order || !path || !t) {
    free(order), free(path), free(t);
    return NULL;
  }
  for (int i = 0, k = 0; i < n_tokens; i++) {
    if (usable[i] && offsets[i + 1] > offsets[i]) order[k++] = i;
  }
  sort_bytes = bytes;
  sort_offsets = offsets;
  qsort(order, (size_t)n_order, sizeof *order, compare_tokens);
  // Sorted, each token adds the nodes of its bytes past its common prefix with the one before.
  int n_nodes = 1;
  for (int k = 0; k < n_order; k++) {
    const int i = order[k], len = offsets[i + 1] - offsets[i];
    const int shared = k == 0 ? 0 : common_prefix(bytes + offsets[order[k - 1]], offsets[order[k - 1] + 1] - offsets[order[k - 1]], bytes + offsets[i], len);
    n_nodes += len - shared;
  }
  t->n_tokens = n_tokens;
  t->n_nodes = n_nodes;
  t->offsets = malloc((size_t)(n_tokens + 1) * sizeof(int32_t));
  t->bytes = malloc((size_t)offsets[n_tokens] + 1);
  t->first_child = malloc((size_t)n_nodes * sizeof(int32_t));
  t->next_sibling = malloc((size_t)n_nodes * sizeof(int32_t));
  t->label = calloc((size_t)n_nodes, 1);
  t->first_token = malloc((size_t)n_nodes * sizeof(int32_t));
  t->next_token = malloc((size_t)n_tokens * sizeof(int32_t));
  int32_t *last_child = malloc((size_t)n_nodes * sizeof(int32_t));
  if (!t->offsets || !t->bytes || !t->first_child || !t->next_sibling || !t->label || !t->first_token || !t->next_token || !last_child) {
    free(order), free(path), free(last_child);
    xl_trie_free(t);
    return NULL;
  }
  memcpy(t->offsets, offsets, (size_t)(n_tokens + 1) * sizeof(int32_t));
  memcpy(t->bytes, bytes, (size_t)offsets[n_tokens]);
  memset(t->first_child, 0xff, (size_t)n_nodes * sizeof(int32_t));
  memset(t->next_sibling, 0xff, (size_t)n_nodes * sizeof(int32_t));
  memset(t->first_token, 0xff, (size_t)n_nodes * sizeof(int32_t));
  memset(t->next_token, 0xff, (size_t)n_tokens * sizeof(int32_t));
  memset(last_child, 0xff, (size_t)n_nodes * sizeof(int32_t));
  // path[d]: the node of the previous token's first d bytes. A new byte sorts after every
  // child already there, so a new node is always appended as the last child.
  path[0] = 0;
  int next_node = 1;
  for (int k = 0; k < n_order; k++) {
    const int i = order[k], len = offsets[i + 1] - offsets[i];
    const uint8_t *b = bytes + offsets[i];
    const int shared = k == 0 ? 0 : common_prefix(bytes + offsets[order[k - 1]], offsets[order[k - 1] + 1] - offsets[order[k - 1]], b, len);
    for (int d = shared; d < len; d++) {
      const int parent = path[d], node = next_node++;
      t->label[node] = b[d];
      if (last_child[parent] < 0) t->first_child[parent] = node;
      else t->next_sibling[last_child[parent]] = node;
      last_child[parent] = node;
      path[d + 1] = node;
    }
    const int end = path[len];
    t->next_token[i] = t->first_token[end];
    t->first_token[end] = i;
  }
  free(order), free(path), free(last_child);
  return t;
}

// ---- the lazy DFA -----------------------------------------------------------------------

struct xl_dfa {
  const xl_vocab_trie *trie;
  int words; // mask words: ceil(n_tokens / 32)
  // The NFA: transitions and epsilon moves of state q are [t_begin[q], t_begin[q + 1]) and
  // [e_begin[q], e_begin[q + 1]).
  int n_nfa, start_nfa, accept_nfa;
  int32_t *t_begin, *t_to, *e_begin, *e_to;
  uint8_t *t_lo, *t_hi;
  int32_t *eos;
  int n_eos;
  // DFA states: the sorted, epsilon-closed NFA state set of state s is
  // pool[set_begin[s] .. set_begin[s + 1]).
  int n_states, cap_states, max_states, start;
  int32_t *set_begin, *pool;
  int pool_len, pool_cap;
  uint8_t *accepting;
  int32_t **table;  // per state: 256 next states, filled on first use; NULL until then
  uint32_t **mask;  // per state: the allowed-token bitset; NULL until asked for
  int32_t *hash;    // open addressing over state ids (-1: empty), keyed by their sets
  int hash_cap;
  // Scratch of n_nfa entries.
  uint32_t *stamp;
  uint32_t epoch;
  int32_t *work, *stack;
  // The trie walk's stack of (node, state), grown as needed.
  int32_t *walk;
  int walk_cap;
};

void xl_dfa_free(xl_dfa *d) {
  if (!d) return;
  for (int s = 0; s < d->n_states; s++) {
    free(d->table[s]);
    free(d->mask[s]);
  }
  free(d->t_begin), free(d->t_to), free(d->e_begin), free(d->e_to), free(d->t_lo), free(d->t_hi), free(d->eos);
  free(d->set_begin), free(d->pool), free(d->accepting), free(d->table), free(d->mask), free(d->hash);
  free(d->stamp), free(d->work), free(d->stack), free(d->walk);
  free(d);
}

static uint32_t hash_set(const int32_t *set, int n) {
  uint32_t h = 2166136261u ^ (uint32_t)n;
  for (int i = 0; i < n; i++) h = (h ^ (uint32_t)set[i]) * 16777619u;
  return h;
}

static int same_set(const xl_dfa *d, int s, const int32_t *set, int n) {
  const int len = d->set_begin[s + 1] - d->set_begin[s];
  return len == n && memcmp(d->pool + d->set_begin[s], set, (size_t)n * sizeof *set) == 0;
}

static int grow_hash(xl_dfa *d) {
  const int cap = d->hash_cap ? d->hash_cap * 2 : 1024;
  int32_t *hash = malloc((size_t)cap * sizeof *hash);
  if (!hash) return XL_ERR_NO_MEMORY;
  memset(hash, 0xff, (size_t)cap * sizeof *hash);
  for (int s = 1; s < d->n_states; s++) {
    uint32_t h = hash_set(d->pool + d->set_begin[s], d->set_begin[s + 1] - d->set_begin[s]) & (uint32_t)(cap - 1);
    while (hash[h] >= 0) h = (h + 1) & (uint32_t)(cap - 1);
    hash[h] = s;
  }
  free(d->hash);
  d->hash = hash;
  d->hash_cap = cap;
  return XL_OK;
}

static int grow_states(xl_dfa *d) {
  const int cap = d->cap_states * 2;
  int32_t *set_begin = realloc(d->set_begin, (size_t)(cap + 1) * sizeof(int32_t));
  if (set_begin) d->set_begin = set_begin;
  uint8_t *accepting = realloc(d->accepting, (size_t)cap);
  if (accepting) d->accepting = accepting;
  int32_t **table = realloc(d->table, (size_t)cap * sizeof(int32_t *));
  if (table) d->table = table;
  uint32_t **mask = realloc(d->mask, (size_t)cap * sizeof(uint32_t *));
  if (mask) d->mask = mask;
  if (!set_begin || !accepting || !table || !mask) return XL_ERR_NO_MEMORY;
  d->cap_states = cap;
  return XL_OK;
}

// The id of the state with this (sorted) NFA set, made when new: >= 1, or XL_ERR_*.
static int intern(xl_dfa *d, const int32_t *set, int n) {
  if (n == 0) return XL_DFA_DEAD;
  if (2 * d->n_states >= d->hash_cap && grow_hash(d) != XL_OK) return XL_ERR_NO_MEMORY;
  uint32_t h = hash_set(set, n) & (uint32_t)(d->hash_cap - 1);
  for (; d->hash[h] >= 0; h = (h + 1) & (uint32_t)(d->hash_cap - 1)) {
    if (same_set(d, d->hash[h], set, n)) return d->hash[h];
  }
  if (d->n_states >= d->max_states) return XL_ERR_TOO_COMPLEX;
  if (d->n_states == d->cap_states && grow_states(d) != XL_OK) return XL_ERR_NO_MEMORY;
  if (d->pool_len + n > d->pool_cap) {
    const int cap = (d->pool_len + n) * 2;
    int32_t *pool = realloc(d->pool, (size_t)cap * sizeof *pool);
    if (!pool) return XL_ERR_NO_MEMORY;
    d->pool = pool;
    d->pool_cap = cap;
  }
  const int s = d->n_states++;
  memcpy(d->pool + d->pool_len, set, (size_t)n * sizeof *set);
  d->set_begin[s] = d->pool_len;
  d->pool_len += n;
  d->set_begin[s + 1] = d->pool_len;
  d->accepting[s] = 0;
  for (int i = 0; i < n; i++) d->accepting[s] |= set[i] == d->accept_nfa;
  d->table[s] = NULL;
  d->mask[s] = NULL;
  d->hash[h] = s;
  return s;
}

static int compare_ints(const void *a, const void *b) {
  const int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return (x > y) - (x < y);
}

// The epsilon closure of the n seeds (marked in the current epoch) into d->work, sorted;
// returns its size.
static int closure(xl_dfa *d, int n) {
  int top = 0;
  for (int i = 0; i < n; i++) d->stack[top++] = d->work[i];
  int len = n;
  while (top > 0) {
    const int q = d->stack[--top];
    for (int e = d->e_begin[q]; e < d->e_begin[q + 1]; e++) {
      const int r = d->e_to[e];
      if (d->stamp[r] == d->epoch) continue;
      d->stamp[r] = d->epoch;
      d->work[len++] = r;
      d->stack[top++] = r;
    }
  }
  qsort(d->work, (size_t)len, sizeof *d->work, compare_ints);
  return len;
}

static void next_epoch(xl_dfa *d) {
  if (++d->epoch == 0) {
    memset(d->stamp, 0, (size_t)d->n_nfa * sizeof *d->stamp);
    d->epoch = 1;
  }
}

// Fills the 256 next states of state s. Bytes are split into ranges on which the set of
// transitions that apply does not change; each range's target set is closed and interned once.
static int fill_table(xl_dfa *d, int s) {
  int32_t *row = malloc(256 * sizeof *row);
  if (!row) return XL_ERR_NO_MEMORY;
  const int32_t *set = d->pool + d->set_begin[s];
  const int n = d->set_begin[s + 1] - d->set_begin[s];
  uint8_t cut[257] = {0};
  cut[0] = cut[256] = 1;
  for (int i = 0; i < n; i++) {
    const int q = set[i];
    for (int t = d->t_begin[q]; t < d->t_begin[q + 1]; t++) cut[d->t_lo[t]] = cut[d->t_hi[t] + 1] = 1;
  }
  for (int lo = 0; lo < 256;) {
    int hi = lo + 1;
    while (!cut[hi]) hi++;
    next_epoch(d);
    int seeds = 0;
    for (int i = 0; i < n; i++) {
      const int q = set[i];
      for (int t = d->t_begin[q]; t < d->t_begin[q + 1]; t++) {
        const int r = d->t_to[t];
        if (d->t_lo[t] <= lo && d->t_hi[t] >= hi - 1 && d->stamp[r] != d->epoch) {
          d->stamp[r] = d->epoch;
          d->work[seeds++] = r;
        }
      }
    }
    const int next = seeds == 0 ? XL_DFA_DEAD : intern(d, d->work, closure(d, seeds));
    if (next < 0) {
      free(row);
      return next;
    }
    set = d->pool + d->set_begin[s]; // interning may have moved the pool
    for (int b = lo; b < hi; b++) row[b] = next;
    lo = hi;
  }
  d->table[s] = row;
  return XL_OK;
}

static inline int next_state(xl_dfa *d, int s, uint8_t byte) {
  if (s == XL_DFA_DEAD) return XL_DFA_DEAD;
  if (!d->table[s]) {
    const int status = fill_table(d, s);
    if (status != XL_OK) return status;
  }
  return d->table[s][byte];
}

xl_dfa *xl_dfa_new(const xl_vocab_trie *trie, int n_states, int n_trans, const int32_t *trans, int n_eps,
                   const int32_t *eps, int start, int accept, const int32_t *eos, int n_eos, int max_states) {
  if (!trie || n_states < 1 || n_trans < 0 || n_eps < 0 || n_eos < 0 || max_states < 2) return NULL;
  if (start < 0 || start >= n_states || accept < 0 || accept >= n_states) return NULL;
  for (int t = 0; t < n_trans; t++) {
    const int32_t *x = trans + 4 * t;
    if (x[0] < 0 || x[0] >= n_states || x[3] < 0 || x[3] >= n_states || x[1] < 0 || x[2] > 255 || x[1] > x[2]) return NULL;
  }
  for (int e = 0; e < n_eps; e++) {
    if (eps[2 * e] < 0 || eps[2 * e] >= n_states || eps[2 * e + 1] < 0 || eps[2 * e + 1] >= n_states) return NULL;
  }
  for (int i = 0; i < n_eos; i++) {
    if (eos[i] < 0 || eos[i] >= trie->n_tokens) return NULL;
  }
  xl_dfa *d = calloc(1, sizeof *d);
  if (!d) return NULL;
  d->trie = trie;
  d->words = (trie->n_tokens + 31) / 32;
  d->n_nfa = n_states;
  d->start_nfa = start;
  d->accept_nfa = accept;
  d->max_states = max_states;
  d->start = -1;
  d->t_begin = calloc((size_t)n_states + 1, sizeof(int32_t));
  d->e_begin = calloc((size_t)n_states + 1, sizeof(int32_t));
  d->t_to = malloc((size_t)(n_trans + 1) * sizeof(int32_t));
  d->t_lo = malloc((size_t)n_trans + 1);
  d->t_hi = malloc((size_t)n_trans + 1);
  d->e_to = malloc((size_t)(n_eps + 1) * sizeof(int32_t));
  d->eos = malloc((size_t)(n_eos + 1) * sizeof(int32_t));
  d->stamp = calloc((size_t)n_states, sizeof(uint32_t));
  d->work = malloc((size_t)n_states * sizeof(int32_t));
  d->stack = malloc((size_t)n_states * sizeof(int32_t));
  d->cap_states = 64;
  d->set_begin = malloc((size_t)(d->cap_states + 1) * sizeof(int32_t));
  d->accepting = malloc((size_t)d->cap_states);
  d->table = malloc((size_t)d->cap_states * sizeof(int32_t *));
  d->mask = malloc((size_t)d->cap_states * sizeof(uint32_t *));
  if (!d->t_begin || !d->e_begin || !d->t_to || !d->t_lo || !d->t_hi || !d->e_to || !d->eos || !d->stamp || !d->work ||
      !d->stack || !d->set_begin || !d->accepting || !d->table || !d->mask || grow_hash(d) != XL_OK) {
    xl_dfa_free(d);
    return NULL;
  }
  // Counting sort of the moves by their source state.
  for (int t = 0; t < n_trans; t++) d->t_begin[trans[4 * t] + 1]++;
  for (int e = 0; e < n_eps; e++) d->e_begin[eps[2 * e] + 1]++;
  for (int q = 0; q < n_states; q++) {
    d->t_begin[q + 1] += d->t_begin[q];
    d->e_begin[q + 1] += d->e_begin[q];
  }
  int32_t *t_fill = d->work, *e_fill = d->stack; // scratch, reset before first use
  memcpy(t_fill, d->t_begin, (size_t)n_states * sizeof(int32_t));
  for (int t = 0; t < n_trans; t++) {
    const int at = t_fill[trans[4 * t]]++;
    d->t_lo[at] = (uint8_t)trans[4 * t + 1];
    d->t_hi[at] = (uint8_t)trans[4 * t + 2];
    d->t_to[at] = trans[4 * t + 3];
  }
  memcpy(e_fill, d->e_begin, (size_t)n_states * sizeof(int32_t));
  for (int e = 0; e < n_eps; e++) d->e_to[e_fill[eps[2 * e]]++] = eps[2 * e + 1];
  memcpy(d->eos, eos, (size_t)n_eos * sizeof(int32_t));
  d->n_eos = n_eos;
  // State 0 is the dead state: its own empty set, every byte back to it.
  d->n_states = 1;
  d->set_begin[0] = d->set_begin[1] = 0;
  d->accepting[0] = 0;
  d->mask[0] = NULL;
  d->table[0] = calloc(256, sizeof(int32_t));
  if (!d->table[0]) {
    xl_dfa_free(d);
    return NULL;
  }
  return d;
}

int xl_dfa_start(xl_dfa *d) {
  if (d->start < 0) {
    next_epoch(d);
    d->stamp[d->start_nfa] = d->epoch;
    d->work[0] = d->start_nfa;
    const int s = intern(d, d->work, closure(d, 1));
    if (s < 0) return s;
    d->start = s;
  }
  return d->start;
}

static int valid_state(const xl_dfa *d, int s) { return s >= 0 && s < d->n_states; }

int xl_dfa_step(xl_dfa *d, int state, const uint8_t *bytes, int n) {
  if (!valid_state(d, state) || n < 0) return XL_ERR_BAD_ARG;
  int s = state;
  for (int i = 0; i < n && s != XL_DFA_DEAD; i++) {
    s = next_state(d, s, bytes[i]);
    if (s < 0) return s;
  }
  return s;
}

int xl_dfa_step_token(xl_dfa *d, int state, int token) {
  const xl_vocab_trie *t = d->trie;
  if (token < 0 || token >= t->n_tokens) return XL_ERR_BAD_TOKEN;
  return xl_dfa_step(d, state, t->bytes + t->offsets[token], t->offsets[token + 1] - t->offsets[token]);
}

int xl_dfa_accepting(const xl_dfa *d, int state) {
  if (!valid_state(d, state)) return XL_ERR_BAD_ARG;
  return d->accepting[state];
}

int xl_dfa_size(const xl_dfa *d) { return d->n_states; }

// Pushes (node, state) on the trie walk's stack, growing it as needed.
static int push_walk(xl_dfa *d, int *top, int node, int state) {
  if (*top + 2 > d->walk_cap) {
    const int cap = d->walk_cap ? d->walk_cap * 2 : 4096;
    int32_t *grown = realloc(d->walk, (size_t)cap * sizeof *grown);
    if (!grown) return XL_ERR_NO_MEMORY;
    d->walk = grown;
    d->walk_cap = cap;
  }
  d->walk[(*top)++] = node;
  d->walk[(*top)++] = state;
  return XL_OK;
}

// Walks the trie depth-first in step with the DFA from `state`; sets the bits of the tokens
// that keep it alive.
static int walk(xl_dfa *d, int state, uint32_t *bits) {
  const xl_vocab_trie *t = d->trie;
  int top = 0;
  for (int c = t->first_child[0]; c >= 0; c = t->next_sibling[c]) {
    if (push_walk(d, &top, c, state) != XL_OK) return XL_ERR_NO_MEMORY;
  }
  while (top > 0) {
    const int s = d->walk[--top], node = d->walk[--top];
    const int next = next_state(d, s, t->label[node]);
    if (next < 0) return next;
    if (next == XL_DFA_DEAD) continue;
    for (int tok = t->first_token[node]; tok >= 0; tok = t->next_token[tok]) bits[tok >> 5] |= 1u << (tok & 31);
    for (int c = t->first_child[node]; c >= 0; c = t->next_sibling[c]) {
      if (push_walk(d, &top, c, next) != XL_OK) return XL_ERR_NO_MEMORY;
    }
  }
  return XL_OK;
}

const uint32_t *xl_dfa_mask(xl_dfa *d, int state) {
  if (!valid_state(d, state)) return NULL;
  if (d->mask[state]) return d->mask[state];
  uint32_t *bits = calloc((size_t)d->words, sizeof *bits);
  if (!bits) return NULL;
  if (state != XL_DFA_DEAD && walk(d, state, bits) != XL_OK) {
    free(bits);
    return NULL;
  }
  if (d->accepting[state]) {
    for (int i = 0; i < d->n_eos; i++) bits[d->eos[i] >> 5] |= 1u << (d->eos[i] & 31);
  }
  d->mask[state] = bits;
  return bits;
}

int xl_dfa_allowed_count(xl_dfa *d, int state) {
  const uint32_t *bits = xl_dfa_mask(d, state);
  if (!bits) return valid_state(d, state) ? XL_ERR_NO_MEMORY : XL_ERR_BAD_ARG;
  int count = 0;
  for (int i = 0; i < d->words; i++) count += __builtin_popcount(bits[i]);
  return count;
}

int xl_mask_apply(float *row, int vocab, const uint32_t *mask) {
  const v128_t minus_inf = wasm_f32x4_splat(-INFINITY);
  // Lane masks of the 16 nibbles: lane i all ones when bit i of the nibble is set.
  v128_t keep[16];
  for (int n = 0; n < 16; n++) keep[n] = wasm_i32x4_make(n & 1 ? -1 : 0, n & 2 ? -1 : 0, n & 4 ? -1 : 0, n & 8 ? -1 : 0);
  int allowed = 0;
  const int full = vocab / 32;
  for (int w = 0; w < full; w++) {
    const uint32_t bits = mask[w];
    float *at = row + 32 * w;
    if (bits == 0xffffffffu) {
      allowed += 32;
    } else if (bits == 0) {
      for (int i = 0; i < 32; i += 4) wasm_v128_store(at + i, minus_inf);
    } else {
      allowed += __builtin_popcount(bits);
      for (int i = 0; i < 8; i++) {
        const v128_t lanes = wasm_v128_load(at + 4 * i);
        wasm_v128_store(at + 4 * i, wasm_v128_bitselect(lanes, minus_inf, keep[(bits >> (4 * i)) & 15u]));
      }
    }
  }
  for (int t = 32 * full; t < vocab; t++) {
    if (mask[t >> 5] >> (t & 31) & 1u) allowed++;
    else row[t] = -INFINITY;
  }
  return allowed;
}
