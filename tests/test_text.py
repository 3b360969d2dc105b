"""Tests of lrbook.text: tokenizers, models, training loops, BERT masking and schedule."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import lrbook.text as T

CORPUS = [
    "the dress fits well and the fabric is soft",
    "these jeans are too long for me",
    "lovely top, soft fabric, runs small",
    "the jacket is warm and the zipper is sturdy",
] * 10


@pytest.fixture(scope="module")
def word_tok():
    return T.train_tokenizer(CORPUS, 100, kind="word", min_frequency=1)


def test_tokenizer_special_ids_and_encode(word_tok):
    assert [word_tok.token_to_id(t) for t in T.SPECIAL_TOKENS] == [0, 1, 2, 3, 4]
    ids = T.encode(word_tok, ["The dress fits", "zzz unknownword"], max_len=5)
    assert ids.shape == (2, 5) and ids.dtype == torch.long
    assert (ids[0, 3:] == T.PAD).all() and (ids[0, :3] >= 5).all()  # lower-cased, known words
    assert ids[1, 0] == T.UNK and ids[1, 1] == T.UNK
    with_cls = T.encode(word_tok, ["the dress fits well and the fabric"], max_len=4, add_cls=True)
    assert with_cls[0, 0] == T.CLS and (with_cls[0, 1:] >= 5).all()  # truncated to max_len


def test_wordpiece_spells_rare_words_with_pieces():
    tok = T.train_tokenizer(CORPUS, 60, kind="wordpiece", min_frequency=1)
    enc = tok.encode("softness", add_special_tokens=False)
    assert T.UNK not in enc.ids and len(enc.ids) >= 2


def test_tokenizer_bad_arguments():
    with pytest.raises(ValueError, match="kind"):
        T.train_tokenizer(CORPUS, 100, kind="bpe")
    with pytest.raises(ValueError, match="vocab_size"):
        T.train_tokenizer(CORPUS, 3)
    with pytest.raises(ValueError, match="texts"):
        T.train_tokenizer([], 100)
    with pytest.raises(ValueError, match="max_len"):
        T.encode(None, ["a"], max_len=1)


def test_bag_of_embeddings_is_the_mean_over_real_tokens():
    torch.manual_seed(0)
    m = T.BagOfEmbeddings(20, 4, 3)
    ids = torch.tensor([[5, 6, 7, 0, 0], [8, 0, 0, 0, 0]])
    E, W, b = m.embedding.weight, m.out.weight, m.out.bias
    expected = torch.stack([E[[5, 6, 7]].mean(0), E[[8]].mean(0)]) @ W.T + b
    torch.testing.assert_close(m(ids), expected)
    sparse = T.BagOfEmbeddings(20, 4, 3, sparse=True)
    sparse(ids).sum().backward()
    assert sparse.embedding.weight.grad.is_sparse


def test_gru_output_does_not_depend_on_padding():
    torch.manual_seed(0)
    m = T.GRUClassifier(20, 4, 5, 3)
    a = torch.tensor([[5, 6, 7, 0]])
    b = torch.tensor([[5, 6, 7, 0, 0, 0, 0]])
    torch.testing.assert_close(m(a), m(b))


@pytest.mark.parametrize("pre_ln", [False, True])
def test_transformer_shapes_and_padding(pre_ln):
    torch.manual_seed(0)
    m = T.TransformerEncoder(30, d_model=16, num_layers=2, num_heads=2, max_len=12,
                             num_classes=3, pre_ln=pre_ln).eval()
    ids = torch.tensor([[2, 5, 6, 7, 0, 0], [2, 8, 9, 0, 0, 0]])
    assert m(ids).shape == (2, 3)
    assert m.mlm_logits(ids).shape == (2, 6, 30)
    longer = torch.cat([ids, torch.zeros(2, 4, dtype=torch.long)], 1)
    torch.testing.assert_close(m(ids), m(longer), atol=1e-5, rtol=1e-5)
    assert (m.encoder.norm is not None) == pre_ln
    assert m.encoder.layers[0].norm_first == pre_ln
    with pytest.raises(ValueError, match="divisible"):
        T.TransformerEncoder(30, d_model=10, num_heads=3)
    with pytest.raises(RuntimeError, match="classification head"):
        T.TransformerEncoder(30, d_model=16, num_heads=2)(ids)


def test_mask_tokens_follows_bert():
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(5, 1000, (400, 128))
    ids[:, 0] = T.CLS
    ids[:, -10:] = T.PAD
    inputs, labels = T.mask_tokens(ids, 1000, gen)
    chosen = labels != -100
    real = ids >= 5
    assert not chosen[~real].any()  # specials never chosen, never changed
    assert torch.equal(inputs[~real], ids[~real])
    assert torch.equal(labels[chosen], ids[chosen])
    frac = chosen.sum().item() / real.sum().item()
    assert abs(frac - 0.15) < 0.005
    masked = (inputs == T.MASK) & chosen
    changed = (inputs != ids) & chosen & ~masked
    kept = (inputs == ids) & chosen
    n = chosen.sum().item()
    assert abs(masked.sum().item() / n - 0.8) < 0.01
    # random replacements can hit the original token (prob 1/995): kept ~ 0.1 + tiny
    assert abs(changed.sum().item() / n - 0.1) < 0.01
    assert abs(kept.sum().item() / n - 0.1) < 0.01
    assert (inputs[changed] >= 5).all()
    with pytest.raises(ValueError, match="p must"):
        T.mask_tokens(ids, 1000, gen, p=0.0)
    with pytest.raises(ValueError, match="vocab_size"):
        T.mask_tokens(ids, 5, gen)


def test_bert_schedule_is_linear_warmup_then_linear_decay():
    sched = T.bert_schedule(1e-3, total_steps=100, warmup_steps=10)
    for t in range(101):
        expected = 1e-3 * t / 10 if t < 10 else 1e-3 * (100 - t) / 90
        assert math.isclose(sched(t), expected, rel_tol=1e-12, abs_tol=1e-18)
    no_warmup = T.bert_schedule(1e-3, 100, 0)
    assert math.isclose(no_warmup(0), 1e-3) and math.isclose(no_warmup(50), 5e-4)
    with pytest.raises(ValueError, match="warmup_steps"):
        T.bert_schedule(1e-3, 10, 10)


def test_fit_classifier_learns_and_reports():
    torch.manual_seed(0)
    y = torch.randint(0, 2, (512,))
    X = torch.randint(5, 27, (512, 8)) + 22 * y[:, None]  # class 1 uses the words 27..48
    m = T.BagOfEmbeddings(50, 16, 2)
    opt = torch.optim.Adam(m.parameters(), lr=0.05)
    r = T.fit_classifier(m, opt, X, y, X, y, num_epochs=15, batch_size=64, seed=0)
    assert r["val_acc"] > 0.9 and r["steps"] == 15 * 8 and not r["diverged"]
    assert len(r["losses"]) == r["steps"] and r["losses"][-8:].mean() < r["losses"][:8].mean()
    assert r["seconds_per_step"] > 0
    # an absurd learning rate overflows the logits: reported as diverged, not as an error
    torch.manual_seed(0)
    g = T.BagOfEmbeddings(50, 16, 2)
    bad = T.fit_classifier(g, torch.optim.SGD(g.parameters(), lr=1e38), X, y, X, y, 3, 64, 0)
    assert bad["diverged"] and bad["val_acc"] == 0.0


def test_optimizer_state_bytes():
    p = torch.nn.Parameter(torch.zeros(100, 10))
    opt = torch.optim.Adam([p], lr=1e-3)
    assert T.optimizer_state_bytes(opt) == 0
    p.grad = torch.ones_like(p)
    opt.step()
    step_bytes = opt.state[p]["step"].numel() * opt.state[p]["step"].element_size()
    assert T.optimizer_state_bytes(opt) == 2 * 1000 * 4 + step_bytes


def test_pretrain_mlm_lowers_the_loss():
    torch.manual_seed(0)
    # a corpus with structure: every row repeats one token, so masked tokens are predictable
    ids = torch.randint(5, 40, (64, 1)).repeat(1, 12)
    ids[:, 0] = T.CLS
    m = T.TransformerEncoder(40, d_model=32, num_layers=1, num_heads=2, max_len=12)
    losses = T.pretrain_mlm(m, ids, num_steps=150, batch_size=32, peak_lr=3e-3,
                            warmup_steps=15, seed=0)
    assert losses.shape == (150,) and np.isfinite(losses).all()
    assert losses[-20:].mean() < 0.5 * losses[:20].mean()


def test_walk_grid_finds_the_peak_without_visiting_everything():
    grid = np.logspace(-4, 1, 11)
    calls = []

    def score(lr):
        calls.append(lr)
        return -abs(math.log10(lr) + 2.0)  # peak at 1e-2

    s = T.walk_grid(grid, score, start=8)
    assert grid[np.nanargmax(s)] == pytest.approx(1e-2)
    assert np.isnan(s).sum() >= 2 and len(calls) == np.isfinite(s).sum()
    with pytest.raises(ValueError, match="start"):
        T.walk_grid(grid, score, start=11)
    with pytest.raises(ValueError, match="patience"):
        T.walk_grid(grid, score, start=0, patience=0)


def test_count_spikes():
    calm = np.linspace(5, 1, 100)
    assert T.count_spikes(calm) == 0
    spiky = calm.copy()
    spiky[50] = 10.0
    spiky[70] = 9.0
    assert T.count_spikes(spiky) == 2
    diverged = calm.copy()
    diverged[90:] = np.nan
    assert T.count_spikes(diverged) == 10
