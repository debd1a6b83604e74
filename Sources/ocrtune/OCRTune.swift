// The `ocrtune` command-line program: one subcommand per file.

import ArgumentParser
import Foundation

@main
struct OCRTune: ParsableCommand {
    static let version = "0.1.0"

    static var configuration = CommandConfiguration(
        commandName: "ocrtune",
        abstract: "Fine-tune OCR models on your own documents (Swift, on Apple's MLX engine).",
        discussion: """
            The loop: build an image–text dataset, measure a model on it, fine-tune it
            (LoRA, QLoRA or full), compare before and after, export and serve.

            Examples:
              ocrtune doctor                 engine, BLAS, devices, threads
              ocrtune doctor --train         plus a tiny LoRA training run
              ocrtune score preds.jsonl      CER, WER, NED, exact match, BLEU
              ocrtune eval --model external:preds.jsonl --out runs/a
                                                  predictions, metrics and report.html
              ocrtune compare runs/a runs/b --out compare.html
                                                  before/after with bootstrap intervals
            """,
        version: version,
        subcommands: [
            DoctorCommand.self, DataCommand.self, ImportCommand.self, PredictCommand.self, ScoreCommand.self, EvalCommand.self,
            CompareCommand.self, TrainCommand.self, ExportCommand.self, ServeCommand.self,
        ]
    )
}
