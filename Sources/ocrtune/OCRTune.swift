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
            The loop: get a model, build an image–text dataset from your documents, measure
            the model on it, fine-tune it (LoRA, QLoRA or full), compare before and after,
            and export the trained model.

            Examples:
              ocrtune models get ppocrv5 --out models/ppocrv5
              ocrtune data build labels.tsv --out data/mine
              ocrtune eval --model models/ppocrv5 --data data/mine --out runs/before
              ocrtune train --model models/ppocrv5 --data data/mine --out runs/ft
              ocrtune eval --model runs/ft/model --data data/mine --out runs/after
              ocrtune compare runs/before runs/after --out compare.html
              ocrtune predict --model runs/ft/model line.png
              ocrtune launch -n 2 -- train ...   data-parallel training on 2 processes
              ocrtune doctor                 engine, BLAS, devices, threads
            """,
        version: version,
        subcommands: [
            DoctorCommand.self, ModelsCommand.self, DataCommand.self, ImportCommand.self, PredictCommand.self,
            ScoreCommand.self, EvalCommand.self,
            CompareCommand.self, TrainCommand.self, LaunchCommand.self, ExportCommand.self, ServeCommand.self,
        ]
    )

    /// Errors a command throws reach the terminal as one line in ocrtune's voice (see
    /// `CLIError.describe`); the parser's own (usage, help, exit codes) as the parser prints them.
    static func main() {
        var command: ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            Self.exit(withError: error)
        }
        do {
            try command.run()
        } catch let error as CLIError {
            Self.exit(withError: error)
        } catch let error where String(reflecting: type(of: error)).hasPrefix("ArgumentParser.") {
            // The parser's own: exit codes, usage errors, and help (run by its built-in help command).
            Self.exit(withError: error)
        } catch {
            Self.exit(withError: CLIError(CLIError.describe(error)))
        }
    }
}
