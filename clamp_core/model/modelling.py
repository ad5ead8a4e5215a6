"""The CLaMP model: music encoder + text encoder + projections, state-dict compatible with the
official CLaMP 1 checkpoints (``text_enc``, ``text_proj``, ``music_enc``, ``music_proj``)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from unidecode import unidecode

from clamp_core.model.config import ClampConfig
from clamp_core.model.text_encoder import build_text_encoder


def masked_mean(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``hidden`` [B, T, H] over the positions where ``mask`` [B, T] is 1 (official
    pooling)."""
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)


def _music_bert_config(cfg: ClampConfig):
    from transformers import BertConfig

    return BertConfig(
        vocab_size=1,  # patches arrive as inputs_embeds; the word embedding is never used
        hidden_size=cfg.music_hidden_size,
        num_hidden_layers=cfg.music_num_layers,
        num_attention_heads=cfg.music_num_heads,
        intermediate_size=cfg.music_intermediate_size,
        hidden_act="gelu",
        hidden_dropout_prob=cfg.music_dropout,
        attention_probs_dropout_prob=cfg.music_dropout,
        max_position_embeddings=cfg.max_length,
        type_vocab_size=2,
        layer_norm_eps=cfg.music_layer_norm_eps,
        initializer_range=cfg.initializer_range,
        pad_token_id=0,
    )


class MusicEncoder(nn.Module):
    """Bar patches [B, P, 64] of character ids -> hidden states [B, P, H].

    The official model multiplies a one-hot [B, P, 64 * 98] input by ``patch_embedding``; we sum
    the 64 selected columns of the same weight instead: identical maths, ~100x less input.
    """

    def __init__(self, cfg: ClampConfig):
        super().__init__()
        from transformers import BertModel

        self.patch_length = cfg.patch_length
        self.vocab_size = cfg.patch_vocab_size
        self.patch_embedding = nn.Linear(cfg.patch_length * cfg.patch_vocab_size,
                                         cfg.music_hidden_size)
        self.enc = BertModel(_music_bert_config(cfg), add_pooling_layer=cfg.use_poolers)
        # Kept for the official key layout but never used (patches arrive as inputs_embeds);
        # frozen so that DDP does not wait for a gradient that never comes.
        self.enc.embeddings.word_embeddings.weight.requires_grad_(False)
        offsets = torch.arange(cfg.patch_length) * cfg.patch_vocab_size
        self.register_buffer("char_offsets", offsets, persistent=False)

    def embed_patches(self, ids: torch.Tensor) -> torch.Tensor:
        b, p, length = ids.shape
        flat = (ids + self.char_offsets[:length]).reshape(b * p, length)
        table = self.patch_embedding.weight.t()  # [64 * 98, H]
        if torch.onnx.is_in_onnx_export():
            summed = table[flat].sum(1)  # plain gather-and-sum exports everywhere
        else:
            summed = F.embedding_bag(flat, table, mode="sum")  # no [B*P, 64, H] intermediate
        return (summed + self.patch_embedding.bias).reshape(b, p, -1)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        embeds = self.embed_patches(ids)
        return self.enc(inputs_embeds=embeds, attention_mask=mask).last_hidden_state


class ClampModel(nn.Module):
    """Both towers and their projections into one shared space; features are not normalised."""

    def __init__(self, config: ClampConfig, text_encoder: nn.Module | None = None):
        super().__init__()
        self.config = config
        self.text_enc = (text_encoder if text_encoder is not None
                         else build_text_encoder(config, False))
        self.text_proj = nn.Linear(self.text_enc.config.hidden_size, config.projection_dim)
        self.music_enc = MusicEncoder(config)
        self.music_proj = nn.Linear(config.music_hidden_size, config.projection_dim)
        scale = torch.tensor(float(config.logit_scale_init))
        if config.learnable_temperature:
            self.logit_scale = nn.Parameter(scale)  # log of the inverse temperature, as in CLIP
        else:
            self.register_buffer("logit_scale", scale, persistent=False)
        self.tokenizer = None  # attached by the loaders in clamp_core.model.checkpoint
        self.text_frozen = False

    def freeze_text_encoder(self) -> None:
        """Locked-text tuning: the text encoder keeps its weights (and stays in eval mode, no
        dropout); only ``text_proj`` and the music side learn."""
        self.text_enc.requires_grad_(False)
        self.text_frozen = True
        self.text_enc.eval()

    def train(self, mode: bool = True) -> ClampModel:
        super().train(mode)
        if self.text_frozen:
            self.text_enc.eval()
        return self

    def pool_music(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Patches [B, P, 64] + patch mask [B, P] -> the music encoder's mean patch state [B, H]
        (what ``music_proj`` maps into the shared space)."""
        return masked_mean(self.music_enc(ids, mask), mask)

    def encode_music(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Patches [B, P, 64] + patch mask [B, P] -> projected music features [B, D]."""
        return self.music_proj(self.pool_music(ids, mask))

    def pool_text(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Token ids [B, T] + attention mask -> the text encoder's mean token state [B, H]
        (what ``text_proj`` maps into the shared space)."""
        hidden = self.text_enc(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return masked_mean(hidden, attention_mask)

    def encode_text(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Token ids [B, T] + attention mask -> projected text features [B, D]."""
        return self.text_proj(self.pool_text(input_ids, attention_mask))

    def forward(self, music_ids, music_mask, input_ids, attention_mask):
        """Features of both modalities and the current logit scale (for the contrastive loss)."""
        return (
            self.encode_music(music_ids, music_mask),
            self.encode_text(input_ids, attention_mask),
            self.logit_scale.exp(),
        )

    def tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        """Tokenise as officially: truncation at ``text_max_length`` tokens, padded to the batch."""
        if self.tokenizer is None:
            raise RuntimeError("this model has no tokenizer attached")
        if self.config.official:  # the official pipeline transliterates text to ASCII first
            texts = [unidecode(t) for t in texts]
        enc = self.tokenizer(
            list(texts), padding=True, truncation=True,
            max_length=self.config.text_max_length, return_tensors="pt")
        return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
