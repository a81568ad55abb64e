// Constrained decoding: which tokens may come next so that the output stays inside a regular
// language (a JSON Schema, a regular expression, a list of choices — compiled to a byte NFA
// by src/constraint/). The NFA is determinized lazily, one DFA state at a time as decoding
// or the vocabulary walk reaches it; the set of allowed tokens of a DFA state is found once,
// by walking the vocabulary's byte trie in step with the DFA (a dead byte prunes the whole
// subtree), and cached as a bitset, so a later visit of that state costs only applying it.
#ifndef XL_CONSTRAINT_H
#define XL_CONSTRAINT_H

#include <stdint.h>

// The DFA state every dead end leads to; live states are >= 1.
#define XL_DFA_DEAD 0

typedef struct xl_vocab_trie xl_vocab_trie;
typedef struct xl_dfa xl_dfa;

// A byte trie of the vocabulary: token i is bytes[offsets[i] .. offsets[i+1]) (offsets[0] = 0, the
// bytes are copied); a token with
// usable[i] == 0 (special tokens, ids without text) is never allowed by a mask. NULL when out
// of memory or when an argument is invalid.
xl_vocab_trie *xl_trie_new(int n_tokens, const uint8_t *bytes, const int32_t *offsets, const uint8_t *usable);
void xl_trie_free(xl_vocab_trie *trie);

// A lazily determinized NFA over bytes, bound to `trie` for its masks. The NFA has n_states
// states; trans holds n_trans transitions (from, lo, hi, to) on the bytes lo..hi, eps holds
// n_eps epsilon moves (from, to); `accept` is its one accepting state. When a state accepts,
// its mask also allows the eos ids. At most max_states DFA states are made (XL_ERR_TOO_COMPLEX
// from a step or a NULL mask beyond that). NULL on an invalid NFA or out of memory.
xl_dfa *xl_dfa_new(const xl_vocab_trie *trie, int n_states, int n_trans, const int32_t *trans, int n_eps,
                   const int32_t *eps, int start, int accept, const int32_t *eos, int n_eos, int max_states);
void xl_dfa_free(xl_dfa *dfa);

// The DFA state of the NFA's start (>= 1), or a negative XL_ERR_*.
int xl_dfa_start(xl_dfa *dfa);

// The state after the n bytes from `state`: XL_DFA_DEAD when they leave the language, or a
// negative XL_ERR_* (bad state, too many states, out of memory).
int xl_dfa_step(xl_dfa *dfa, int state, const uint8_t *bytes, int n);

// xl_dfa_step over the bytes of vocabulary token `token`.
int xl_dfa_step_token(xl_dfa *dfa, int state, int token);

// 1 when `state` accepts (the output may end there), 0 when not, negative on a bad state.
int xl_dfa_accepting(const xl_dfa *dfa, int state);

// DFA states made so far.
int xl_dfa_size(const xl_dfa *dfa);

// The bitset (bit t of word t / 32) of the tokens allowed in `state`: those whose bytes keep
// the DFA alive, and the eos ids when the state accepts. Found on the first call for a state,
// cached after. NULL on a bad state, too many states, or out of memory.
const uint32_t *xl_dfa_mask(xl_dfa *dfa, int state);

// Tokens the mask of `state` allows (its population count), or a negative XL_ERR_*.
int xl_dfa_allowed_count(xl_dfa *dfa, int state);

// Sets every logit of `row` (vocab entries) whose bit is clear in `mask` to -inf.
// Returns how many tokens stay allowed.
int xl_mask_apply(float *row, int vocab, const uint32_t *mask);

#endif
