r"""zhang2025 §6.2 / App. D.2: the multi-agent RLHF experiment (Fig. 4), listed as not reproducible here.

``zhang2025.figD2_rlhf``  not applicable, with the reason: the experiment fine-tunes N = 3 TinyLlama-1.1B actors
                          (LoRA rank 8) against three pretrained reward models (DeBERTa-V3, Llama-3-8B, Gemma-2B)
                          with torch; it needs those weights and an autograd library, neither of which belongs in a
                          numpy toolkit whose numbers are exact. Its one row records the experiment's printed
                          settings (guide §5.2), so that a reader sees what would have to be run, and its
                          assumption row names what is missing. Nothing is measured: the row's ``measured`` is NaN
                          and the verdict is always "not applicable".

The algorithmic content of D.2 (Alg. 1 with a critic per agent, t_gossip = 20, K = M = 1, γ = 0.5) is the
actor-critic checked on exact instances by ``zhang2025.thm5_10_alg`` and the D.1 ablations (``figD1_*``).
"""

import importlib.util

from netmarl_verify.verify import Assumption, Claim, Instance, Measurement, claim_factory, register

from ._common import PAPER, PAPER_FILE

__all__ = ["make_claims", "D2_SETTINGS"]

#: App. D.2's printed settings (guide shared/claims/zhang2025.md §5.2).
D2_SETTINGS = {
    "actors": "N = 3 TinyLlama-1.1B, LoRA rank 8",
    "critic": "MLP per agent, m = 256, D = 3",
    "t_gossip": 20, "optimizer": "Adam, alpha = beta = 1e-4", "gamma": 0.5, "K": 1, "M": 1,
    "reward_models": "DeBERTa-V3 (a = 5, b = 0), Llama-3-8B (a = 2, b = -2), Gemma-2B (a = 6, b = 10); "
                     "score (raw + b) / a",
    "episodes": "three-turn dialogues, prompts from a controller (global state), responses as actions",
    "figure": "Fig. 4, 5-episode moving average",
}


def _instances(quick, seed):
    yield Instance(name="App. D.2 multi-agent RLHF (TinyLlama actors, three reward models)",
                   params={"family": "llm"}, payload={}, size=1.0, family="llm")


def _measure(instance, rng, quick):
    torch = importlib.util.find_spec("torch") is not None
    reason = ("needs the pretrained weights of TinyLlama-1.1B, DeBERTa-V3, Llama-3-8B and Gemma-2B and an autograd "
              "library (torch" + (" is installed here" if torch else " is not installed") + "); the toolkit is "
              "numpy-only and reports exact numbers, which an LLM fine-tuning run cannot give")
    yield Measurement(measured=float("nan"), bound=None, point={"experiment": "Fig. 4 (App. D.2)"},
                      assumptions=[Assumption("the LLM experiment can be run here", False, None,
                                              "model weights + torch + a reimplementation of D.2", reason)],
                      extra={**D2_SETTINGS, "torch_installed": torch, "reason": reason})


@claim_factory()
def make_claims(*, faults):
    """Build the D.2 claim (no faults: nothing is measured)."""
    return [Claim(id="zhang2025.figD2_rlhf", source="§6.2, Fig. 4; App. D.2", paper=PAPER, paper_file=PAPER_FILE,
                  instances=_instances, measure=_measure,
                  statement="Multi-agent RLHF with three TinyLlama actors and gossiped critics raises every reward "
                            "model's score over training (Fig. 4). Not reproducible here: needs LLM weights and "
                            "torch.",
                  latex=r"\mathrm{score}_j(t)=(\mathrm{raw}_j(t)+b_j)/a_j\ \text{rises with}\ t",
                  notes="Not applicable by construction (module docstring): the row records App. D.2's settings "
                        "and the reason; no search space and no failing-input test, since nothing is measured.")]


for _claim in make_claims():
    register(_claim)
