"""arcwright_train: fine-tune a LoRA adapter on gated rustgate data (``arcwright-train`` command).

Heavy dependencies (torch, transformers, trl, peft, unsloth) load only when training or planning.
"""
