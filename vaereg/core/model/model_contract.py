"""The model contract: what a model class declares it can do, and what plugins and metrics
declare they need of it. This docstring is the reference (docs/models.md shows it at work).

Every model has the base API: ``forward(x, y)`` returning a dict with the decoder's
``output``, ``loss(outputs, target)`` returning per-example terms in nats, ``term_weights``
(each term's default weight), ``sample(n, y=..., generator=...)`` and ``reconstruct(x, y)``
(images in [0, 1]), and ``likelihood_name`` (what its reconstruction figures are under).
On top of that it declares, as class attributes:

- ``loss_terms``: the names ``loss`` returns, e.g. ``("recon", "kl")``.
- ``elbo_terms``: those of them whose per-example sum is the negative ELBO; empty for a
  model without an ELBO (WAE).
- ``capabilities``: a frozenset of the names below. A model whose options give it one
  more sets ``self.capabilities`` in ``__init__`` (``wae_mmd`` with ``deterministic =
  false`` has ``posterior_density``): ``vaereg eval`` reads the built model's, the recipe
  loader checks plugins against the class's.

Capabilities (the constants of this module):

- ``posterior``: ``encode(x, y)`` returns q(z|x) as a ``torch.distributions`` object with
  event shape ``(latent_dim,)`` (``.mean``, ``.rsample()``), ``prior()`` returns p(z),
  ``decode(z, y)`` the decoder's output, and ``forward``'s dict carries ``posterior`` and
  ``z``. Active units, latent pictures, the MMD plugin and attacks use it.
- ``posterior_density``: that posterior has a density (``log_prob``) and a finite KL to
  the prior; a deterministic encoder's point mass has neither. The importance-weighted
  bound and the mutual information need it.
- ``per_element_likelihood``: ``recon_per_element(outputs, target)`` returns
  -log p(x|z) per element, ``[batch, *shape]`` (one value per pixel or voxel and
  channel; ``recon`` is its per-image sum), and ``likelihood`` has ``nll(output, target)``
  (per image) and ``mean(output)``. Anomaly maps and the IWAE bound use it.
- ``conditional``: ``encode``, ``decode``, ``forward``, ``sample`` and ``reconstruct`` take
  class labels ``y``, and ``sample(n, y=k)`` draws class k.
- ``encoder_features``: ``features(x, y)`` returns what the encoder body gives the latent
  heads, one row per image, ``[batch, width]``: a wider view of the image than the
  posterior's ``latent_dim`` numbers, and ``forward``'s dict carries the same rows as
  ``features``. The feature-space anomaly scores (``feature_knn``,
  ``feature_cosine_knn``, ``feature_class_energy``) and the ``class_head`` plugin read it.
- ``hidden_blocks``: ``hidden_blocks()`` returns the hidden :class:`vaereg.Block` s of
  encoder then decoder, where layer plugins (dropout, batch norm, sparsity) act.
- ``parts``: ``parts`` maps ``"encoder"`` and ``"decoder"`` to the names of the top-level
  submodules that form each (weight decay per part).

Derived, never declared: ``elbo`` (``elbo_terms`` is not empty) and ``term:<name>`` for
each name in ``loss_terms`` (``term("kl")``: the KL schedules scale that term).

A plugin or metric class says what it needs with ``requires = (...)`` of these names.
The recipe loader refuses a plugin the model cannot serve (``vaereg validate`` and
``run``, exit 2); ``vaereg eval`` skips such a default metric and refuses one asked for.
"""
from __future__ import annotations

from typing import Any

POSTERIOR = "posterior"
POSTERIOR_DENSITY = "posterior_density"
PER_ELEMENT_LIKELIHOOD = "per_element_likelihood"
CONDITIONAL = "conditional"
ENCODER_FEATURES = "encoder_features"
HIDDEN_BLOCKS = "hidden_blocks"
PARTS = "parts"
ELBO = "elbo"

#: what each declarable capability promises, in the words error messages use
DECLARABLE = {
    POSTERIOR: "a posterior q(z|x) (encode, prior, decode; z in the forward outputs)",
    POSTERIOR_DENSITY: "a posterior with a density and a finite KL to the prior",
    PER_ELEMENT_LIKELIHOOD: "a per-element likelihood (recon_per_element, likelihood.nll)",
    CONDITIONAL: "class labels y in encoder and decoder (a conditional model)",
    ENCODER_FEATURES: "encoder features (features(x, y): the encoder body's output rows)",
    HIDDEN_BLOCKS: "hidden blocks (hidden_blocks()) where layer plugins act",
    PARTS: "parts naming its encoder and decoder submodules",
}
TERM_PREFIX = "term:"


def term(name: str) -> str:
    """The requirement that ``loss`` returns a term called ``name``."""
    return TERM_PREFIX + name


def describe(requirement: str) -> str:
    """What a requirement means, for messages."""
    if requirement == ELBO:
        return "an ELBO (elbo_terms)"
    if requirement.startswith(TERM_PREFIX):
        return f"a '{requirement.removeprefix(TERM_PREFIX)}' term in its loss"
    return DECLARABLE.get(requirement, repr(requirement))


def provides(model: Any) -> frozenset[str]:
    """Everything a model class (or instance) offers: its declared ``capabilities``, plus
    ``elbo`` when it has ELBO terms and ``term:<name>`` for each of its ``loss_terms``."""
    offered = set(getattr(model, "capabilities", ()))
    if getattr(model, "elbo_terms", ()):
        offered.add(ELBO)
    offered.update(term(name) for name in getattr(model, "loss_terms", ()))
    return frozenset(offered)


def has(model: Any, capability: str) -> bool:
    """Whether ``model`` (class or instance) offers ``capability``."""
    return capability in provides(model)


def requirement_problems(requirer: Any) -> list[str]:
    """Names in ``requirer.requires`` that are no requirement (a typo would otherwise
    refuse every model)."""
    return [f"requires {need!r}, which is no capability; known: "
            f"{', '.join([*DECLARABLE, ELBO, TERM_PREFIX + '<name>'])}"
            for need in getattr(requirer, "requires", ())
            if need not in DECLARABLE and need != ELBO
            and not (need.startswith(TERM_PREFIX) and len(need) > len(TERM_PREFIX))]


def missing(requirer: Any, model: Any) -> tuple[str, ...]:
    """The requirements of ``requirer`` (its ``requires``) that ``model`` does not offer."""
    offered = provides(model)
    return tuple(need for need in getattr(requirer, "requires", ()) if need not in offered)


def why_not(kind: str, name: str, requirer: Any, model_name: str, model: Any) -> str | None:
    """None when ``model`` serves ``requirer``, else the reason in one sentence: e.g.
    "plugin 'kl_schedule' needs a 'kl' term in its loss, which model 'wae_mmd' does not
    have (its terms: recon, mmd)"."""
    needs = missing(requirer, model)
    if not needs:
        return None
    if any(need.startswith(TERM_PREFIX) for need in needs):
        has_now = "its terms: " + (", ".join(getattr(model, "loss_terms", ())) or "none")
    else:
        has_now = "it declares: " + (", ".join(sorted(provides(model) - {
            term(name) for name in getattr(model, "loss_terms", ())})) or "nothing")
    return (f"{kind} '{name}' needs {' and '.join(describe(need) for need in needs)}, which "
            f"model '{model_name}' does not have ({has_now})")


def declaration_problems(model: Any) -> list[str]:
    """What is wrong with a model class's declarations (unknown capability names, ELBO
    terms that are not loss terms, a capability without the method it promises)."""
    problems = []
    declared = getattr(model, "capabilities", None)
    if declared is None:
        return [f"{_name(model)} declares no `capabilities` (the model contract: "
                f"docs/models.md); declare frozenset() if it offers none"]
    unknown = sorted(set(declared) - set(DECLARABLE))
    if unknown:
        problems.append(f"{_name(model)} declares unknown capabilities {unknown}; known: "
                        f"{', '.join(DECLARABLE)}")
    loss_terms = getattr(model, "loss_terms", None)
    if loss_terms is None:
        problems.append(f"{_name(model)} declares no `loss_terms` (the names its loss returns)")
    elif set(getattr(model, "elbo_terms", ())) - set(loss_terms):
        problems.append(f"{_name(model)}: elbo_terms {tuple(model.elbo_terms)} are not all "
                        f"in loss_terms {tuple(loss_terms)}")
    for capability, method in ((PER_ELEMENT_LIKELIHOOD, "recon_per_element"),
                               (HIDDEN_BLOCKS, "hidden_blocks"), (PARTS, "parts"),
                               (POSTERIOR, "encode"), (ENCODER_FEATURES, "features")):
        if capability in set(declared) and not hasattr(model, method):
            problems.append(f"{_name(model)} declares '{capability}' but has no `{method}`")
    return problems


def _name(model: Any) -> str:
    cls = model if isinstance(model, type) else type(model)
    return f"model class {cls.__qualname__}"
