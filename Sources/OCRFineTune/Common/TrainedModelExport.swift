// A run's trained weights back on a fresh base, for every family through its recipe: the base
// from RUN/run.json, the shape changes the run made (the recipe re-applies them), the method and
// the weights of the run's output or of any checkpoint (TrainedRun.restore), then the recipe
// writes the merged model folder. This is `ocrtune export --merge`.

import Foundation
import OCRSupport
import OCRTraining

/// Trained weights ready to be written as a model folder.
public protocol TrainedModelExport: AnyObject {
    /// What was restored, for the terminal.
    var notes: [String] { get }
    /// Writes the complete model folder atomically (adapters merged, a quantized base dequantized).
    func writeModel(to folder: URL) throws
}

final class RecipeExport<Recipe: FineTuneRecipe>: TrainedModelExport {
    let recipe: Recipe
    private(set) var notes: [String] = []

    /// `source`: a checkpoint, adapter or model folder of the run (nil: its output when it
    /// completed, else its newest checkpoint).
    init(run: URL, from source: URL?) throws {
        let origin = try RunOrigin.read(from: run)
        let configuration = try TrainedRun.configuration(of: run.path)
        recipe = try Recipe(base: URL(fileURLWithPath: origin.model), configuration: configuration)
        notes += try recipe.reapplyRunChanges(run: run, configuration: configuration)
        let read = try TrainedRun.restore(recipe.trainable, run: run.path, configuration: configuration, from: source?.path)
        notes.append("\(configuration.method.rawValue) weights from \(read)")
    }

    func writeModel(to folder: URL) throws { try recipe.writeModel(to: folder) }
}
