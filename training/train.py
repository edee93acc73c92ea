"""Train one of the paper's three systems (Section 4.1) with Accelerate.

    python -m qrtse.training.train training/configs/small-cpu.json [--max_steps 100 ...]
    accelerate launch --multi_gpu --num_processes 2 ... -m qrtse.training.train CONFIG.json   # see README

Arguments are the dataclasses in `qrtse.training.arguments`, from a JSON file and/or the command
line (the command line wins). A run resumes from the newest checkpoint in its output folder.
"""

import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator, DistributedDataParallelKwargs, PartialState
from accelerate.utils import parse_flag_from_env, set_seed
from tqdm.auto import tqdm
from transformers import HfArgumentParser, get_cosine_schedule_with_warmup

from modeling_qrtse import QrtseConfig, QrtseModel, QrtseProcessor
from modeling_qrtse.causal_form_qrtse import causal_form
from modeling_qrtse.label_space_qrtse import with_labels

from .arguments import DataArguments, ModelArguments, TrainArguments
from .augmentation import AugmentationConfig, augment_batch
from .checkpoints import TrainingProgress, latest_checkpoint, save_checkpoint
from .classifier_stage import ClassifierStage
from .cpu_runtime import retain_freed_memory
from .data_loading import class_names, training_batches
from .systems import get_system
from .time_budget import TimeBudget
from .training_batches import build_training_batch, random_crop
from .validation import validate, validate_classifier


def parse_arguments(argv=None) -> tuple:
    parser = HfArgumentParser((ModelArguments, DataArguments, TrainArguments))
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0].endswith(".json"):
        defaults = json.loads(Path(argv.pop(0)).read_text())
        parser.set_defaults(**defaults)
    return parser.parse_args_into_dataclasses(args=argv)


def build_model(model_args: ModelArguments, labels: list) -> QrtseModel:
    model = initial_model(model_args, labels)
    if model_args.classification_positive_weight is not None:
        model.config.classification_positive_weight = model_args.classification_positive_weight
    if model_args.classification_focal_gamma is not None:
        model.config.classification_focal_gamma = model_args.classification_focal_gamma
    return model


def initial_model(model_args: ModelArguments, labels: list) -> QrtseModel:
    system = get_system(model_args.system)
    if model_args.init_from:
        model = QrtseModel.from_pretrained(model_args.init_from)
        # Baseline 1 -> Baseline 2 warm starts are fine; a classifier cannot appear or vanish.
        if model.config.use_classifier != system.use_classifier:
            raise ValueError(
                f"init_from {model_args.init_from!r} has use_classifier={model.config.use_classifier}, "
                f"but system {model_args.system!r} needs use_classifier={system.use_classifier}"
            )
        if [model.config.id2label[i] for i in range(model.config.num_labels)] != list(labels):
            # The data's vocabulary differs: shared classes keep their weights, new ones start fresh.
            model = with_labels(model, labels)
        return causal_form(model) if model_args.causal and not model.config.causal else model
    causal = {"causal": True} if model_args.causal else {}  # a causal preset stays causal either way
    config = QrtseConfig.from_preset(
        model_args.preset, use_classifier=system.use_classifier, id2label=dict(enumerate(labels)), **causal
    )
    return QrtseModel(config)


def train_step(model, batch, optimizer, scheduler, accelerator, max_grad_norm: float) -> dict:
    """One optimizer step on a batch with `query` and `target_values` already built. `model` is
    the prepared `QrtseModel`, or a prepared `ClassifierStage` (L_cls alone)."""
    model.train()
    with accelerator.autocast():
        if isinstance(accelerator.unwrap_model(model), ClassifierStage):
            loss = model(batch["input_values"], batch["presence"])
            logs = {"loss": loss.detach(), "loss_cls": loss.detach()}
        else:
            output = model(
                batch["input_values"],
                batch["query"],
                threshold=0.0,  # training is FMQ only: no refinement (Section 3.3)
                target_values=batch["target_values"],
                presence_labels=batch["presence"],
            )
            loss = output.loss
            logs = {"loss": loss.detach(), "loss_tse": output.extraction_loss.detach()}
            if output.classification_loss is not None:
                logs["loss_cls"] = output.classification_loss.detach()
    accelerator.backward(loss)
    if max_grad_norm > 0:
        accelerator.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], max_grad_norm)
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    return {name: accelerator.reduce(value, "mean").item() for name, value in logs.items()}


def qrtse_model(accelerator, trained) -> QrtseModel:
    """The `QrtseModel` inside what `accelerator.prepare` returned (DDP, ClassifierStage)."""
    unwrapped = accelerator.unwrap_model(trained)
    return unwrapped.model if isinstance(unwrapped, ClassifierStage) else unwrapped


def inactive_share(data_args, system, steps_per_epoch: int, step: int) -> float:
    """Share of inactive samples in the batch of `step`: Baseline 2's `inactive_fraction` from
    `inactive_start_epoch` on, 0 before that and for the other systems."""
    if not system.inactive_samples or step < round(data_args.inactive_start_epoch * steps_per_epoch):
        return 0.0
    return data_args.inactive_fraction


def prepare_batch(
    raw_batch: dict,
    processor: QrtseProcessor,
    seed: int,
    step: int,
    process: int,
    segment: int,
    inactive_fraction: float,
    device,
    augmentation: AugmentationConfig | None = None,
) -> dict:
    """Crop to `segment` samples, augment (if asked) and draw queries with generators seeded by
    (seed, step, process), so a resumed run draws exactly what the uninterrupted run drew."""
    generator = torch.Generator().manual_seed(seed * 1_000_003 + step * 97 + process)
    batch = random_crop(raw_batch, segment, generator)
    if augmentation is not None:
        batch = augment_batch(batch, np.random.default_rng([seed, step, process]), augmentation)
    batch.update(build_training_batch(batch, processor, generator, inactive_fraction))
    return {key: value.to(device) for key, value in batch.items() if torch.is_tensor(value)}


def precision_plan(train_args, device: torch.device) -> tuple:
    """`(Accelerate's mixed_precision, the fast path's GEMM dtype or None)`. On the CPU fast path,
    `--mixed_precision bf16` is the fused modules' own mixed precision (bf16 GEMMs, float32 master
    weights, optimizer state, norms and losses; `modeling_qrtse.kernels.fast_training`), not Accelerate's autocast:
    under autocast the fused modules fall back to the reference ones, which were ~2x slower per step
    than the fused bf16 path (small preset, batch 8 x 3 s, 1 thread). Elsewhere Accelerate decides."""
    fast_path = device.type == "cpu" and not train_args.reference_path
    if not fast_path:
        return train_args.mixed_precision, None
    if train_args.mixed_precision == "bf16":
        return "no", torch.bfloat16
    return train_args.mixed_precision, torch.float32


def main(argv=None) -> dict:
    started_at = time.monotonic()  # --max_minutes counts set-up and resuming too
    model_args, data_args, train_args = parse_arguments(argv)
    if train_args.num_threads:
        torch.set_num_threads(train_args.num_threads)
    system = get_system(model_args.system)
    output_dir = Path(train_args.output_dir)
    # The device decides the precision plan, which the Accelerator takes: ask the process state first,
    # as `Accelerator` would build it (ACCELERATE_USE_CPU is read by AcceleratorState, not PartialState).
    device = PartialState(cpu=parse_flag_from_env("ACCELERATE_USE_CPU")).device
    mixed_precision, fast_dtype = precision_plan(train_args, device)
    accelerator = Accelerator(
        mixed_precision=mixed_precision,
        log_with="tensorboard",
        project_dir=str(output_dir),
        step_scheduler_with_optimizer=False,
        # Each TCN's last residual conv feeds nothing (kept for the paper's parameter count).
        kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)],
    )
    set_seed(train_args.seed)
    labels = class_names(data_args.data_dir)
    model = build_model(model_args, labels)
    if accelerator.device.type == "cpu":
        retain_freed_memory()  # either path: large activations stop page-faulting every step
    path = "reference modules"
    if fast_dtype is not None:
        model.optimize_for_training(dtype=fast_dtype)  # in place: same parameters, same state_dict
        bf16 = model.shared_extractor.gemm_dtype == torch.bfloat16  # float32 where the CPU lacks bf16
        path = f"fast (optimize_for_training{', bf16 GEMMs' if bf16 else ''})"
    accelerator.print(f"training path: {path}")
    if train_args.train_only_classifier:
        model = ClassifierStage(model)
        accelerator.print("training the classifier alone (trunk and mask estimator frozen)")
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=train_args.learning_rate)
    total_steps = train_args.epochs * train_args.steps_per_epoch
    scheduler = get_cosine_schedule_with_warmup(
        optimizer, round(train_args.warmup_epochs * train_args.steps_per_epoch), total_steps
    )
    model, optimizer, scheduler = accelerator.prepare(model, optimizer, scheduler)
    progress = TrainingProgress()
    accelerator.register_for_checkpointing(progress)
    resume_from = latest_checkpoint(output_dir)
    if resume_from is not None:
        accelerator.load_state(str(resume_from))
        accelerator.print(f"resumed from {resume_from} at step {progress.step}")
    if accelerator.is_main_process:
        output_dir.mkdir(parents=True, exist_ok=True)
        (output_dir / "training_args.json").write_text(
            json.dumps(
                {
                    "model": vars(model_args),
                    "data": vars(data_args),
                    "train": vars(train_args),
                    "num_processes": accelerator.num_processes,
                },
                indent=2,
            )
        )
    accelerator.init_trackers("tensorboard")
    budget = TimeBudget(train_args.max_minutes, started_at, accelerator)

    last_step = planned_last_step = min(total_steps, train_args.max_steps or total_steps)
    segment = round(data_args.segment_seconds * qrtse_model(accelerator, model).config.sampling_rate)
    processor = QrtseProcessor.from_config(qrtse_model(accelerator, model).config)  # parses the training queries
    augmentation = (
        AugmentationConfig(probability=data_args.augment_probability) if data_args.augment_probability else None
    )
    step_seconds = []  # mixing, augmentation and the step (no validation or checkpoints): sizes budgets
    step_started = time.monotonic()
    bar = tqdm(total=last_step, initial=progress.step, disable=not accelerator.is_local_main_process, desc="train")
    while progress.step < last_step:
        epoch, done_in_epoch = divmod(progress.step, train_args.steps_per_epoch)
        batches = training_batches(data_args, train_args, epoch, accelerator, skip=done_in_epoch)
        for raw_batch in batches:
            batch = prepare_batch(
                raw_batch,
                processor,
                train_args.seed,
                progress.step,
                accelerator.process_index,
                segment,
                inactive_share(data_args, system, train_args.steps_per_epoch, progress.step),
                accelerator.device,
                augmentation,
            )
            logs = train_step(model, batch, optimizer, scheduler, accelerator, train_args.max_grad_norm)
            step_seconds.append(time.monotonic() - step_started)
            progress.step += 1
            progress.record_loss(logs["loss"])
            if budget.expired():
                # The step just taken is the last one: validated and checkpointed as the final step.
                last_step = progress.step
            bar.update(1)
            bar.set_postfix(loss=f"{logs['loss']:.2f}", lr=f"{scheduler.get_last_lr()[0]:.1e}")
            if progress.step % train_args.log_every == 0:
                accelerator.log(
                    {f"train/{k}": v for k, v in logs.items()} | {"train/lr": scheduler.get_last_lr()[0]},
                    step=progress.step,
                )
            if progress.step % train_args.evaluate_every == 0 or progress.step == last_step:
                validator = validate_classifier if train_args.train_only_classifier else validate
                scores = validator(qrtse_model(accelerator, model), data_args, accelerator)
                accelerator.log({f"validation/{k}": v for k, v in scores.items()}, step=progress.step)
                metric = "macro_f1" if train_args.train_only_classifier else "snri_fmq"
                progress.consider_best(scores[metric], accelerator, qrtse_model(accelerator, model), output_dir, metric)
            if progress.step % train_args.checkpoint_every == 0 or progress.step == last_step:
                save_checkpoint(accelerator, output_dir, progress.step, train_args.keep_checkpoints)
            step_started = time.monotonic()
            if progress.step >= last_step or progress.step % train_args.steps_per_epoch == 0:
                break
    bar.close()
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        qrtse_model(accelerator, model).save_pretrained(output_dir / "final")
        (output_dir / "loss_history.json").write_text(json.dumps(progress.losses))
    summary = {
        "step": progress.step,
        "planned_steps": total_steps,
        "stopped_by": "time budget" if progress.step < planned_last_step else "steps",
        "validation_metric": "macro_f1" if train_args.train_only_classifier else "snri_fmq",
        "best_score": progress.best_score,
        "best_step": progress.best_step,
        "median_step_seconds": float(np.median(step_seconds)) if step_seconds else None,
    }
    if accelerator.is_main_process:
        (output_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    accelerator.print(
        f"summary: {summary['step']} of {total_steps} steps (stopped by {summary['stopped_by']}); "
        f"best validation {summary['validation_metric']} {progress.best_score:.3f} at step {progress.best_step}"
    )
    accelerator.end_training()
    return {"step": progress.step, "losses": progress.losses, "best": progress.best_score} | summary


if __name__ == "__main__":
    main()
