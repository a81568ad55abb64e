# The peer of the GPU run: Hugging Face transformers (torch, fp16, generate) on the same random
# checkpoint the engine converted (bench-0.5b), with the engine's workload
# (bench/decode/workload.ts): the time to first token of a 512-token prompt and batch-1 decode
# after it, and aggregate tokens/s of 1, 4 and 16 sequences of 32 prompt tokens generating
# 32 tokens each in one batched generate. Writes one JSON object to the path given.
#   python3 deploy/gpu/transformers_peer.py CHECKPOINT_DIR OUT.json
import json
import sys
import time

import torch
from transformers import AutoModelForCausalLM, StoppingCriteria, StoppingCriteriaList

LONG_PROMPT_TOKENS, DECODE_TOKENS = 512, 64
STREAM_PROMPT_TOKENS, STREAM_TOKENS, STREAM_COUNTS = 32, 32, (1, 4, 16)


def prompt_tokens(length, variant):
    """bench/decode/workload.ts promptTokens: deterministic ordinary vocabulary ids."""
    return [1000 + ((i * 7919 + variant * 104729) % 100_000) for i in range(length)]


class StepTimes(StoppingCriteria):
    """Records when each generated token is ready (called once per step, after the token)."""

    def __init__(self):
        self.times = []

    def __call__(self, input_ids, scores, **kwargs):
        torch.cuda.synchronize()
        self.times.append(time.perf_counter())
        return False


def generate(model, prompts, new_tokens, criteria=None):
    ids = torch.tensor(prompts, device="cuda")
    mask = torch.ones_like(ids)
    return model.generate(
        input_ids=ids, attention_mask=mask, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
        stopping_criteria=StoppingCriteriaList([criteria] if criteria else []), pad_token_id=0,
    )


def main(checkpoint, out):
    model = AutoModelForCausalLM.from_pretrained(checkpoint, torch_dtype=torch.float16).to("cuda").eval()
    results = {"torch": torch.__version__, "gpu": torch.cuda.get_device_name(0), "dtype": "float16"}
    with torch.inference_mode():
        generate(model, [prompt_tokens(LONG_PROMPT_TOKENS, 99)], 4)  # warm-up
        steps = StepTimes()
        torch.cuda.synchronize()
        submitted = time.perf_counter()
        generate(model, [prompt_tokens(LONG_PROMPT_TOKENS, 0)], DECODE_TOKENS, steps)
        first, last = steps.times[0], steps.times[-1]
        results["single"] = {
            "ttftMs": (first - submitted) * 1000,
            "prefillTokS": LONG_PROMPT_TOKENS / (first - submitted),
            "decodeTokS": (len(steps.times) - 1) / (last - first),
        }
        results["streamsTokS"] = {}
        for count in STREAM_COUNTS:
            prompts = [prompt_tokens(STREAM_PROMPT_TOKENS, 100 + count * 20 + i) for i in range(count)]
            torch.cuda.synchronize()
            started = time.perf_counter()
            generate(model, prompts, STREAM_TOKENS)
            torch.cuda.synchronize()
            results["streamsTokS"][count] = count * STREAM_TOKENS / (time.perf_counter() - started)
    with open(out, "w") as f:
        json.dump(results, f, indent=2)
    print(json.dumps(results))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
