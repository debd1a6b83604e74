// `ocrtune export`: a model folder or a training run in the format a runtime deploys, optionally
// read back by that runtime on a dataset split (--check).

import ArgumentParser
import Foundation
import OCRExport
import OCRFineTune

struct ExportCommand: ParsableCommand {
    static var configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export a model or a training run for onnxruntime, llama.cpp, transformers, PEFT or MLX.",
        discussion: """
            MODEL_OR_RUN is a model folder or a training run folder. A run is put
            back on its base first (its output, else its newest checkpoint; --from
            picks another), the LoRA adapter merged.

            onnx     ONNX (opset 17) written from ocrtune's module tree, for
                     onnxruntime. PP-OCR: rec.onnx as PaddleOCR's exports are
                     read (input x [N,3,48,W], softmax [N,W/8,classes], the
                     dictionary in the `character` metadata: RapidOCR reads
                     it), character_dict.txt, and PaddleX's paddlex/
                     (inference.onnx + inference.yml). TrOCR: onnx/
                     encoder_model.onnx + decoder_model_merged.onnx (KV
                     cache) with config and tokenizer, as transformers.js
                     and optimum read them; latex-ocr-junia in the same
                     layout (pixel_values [N,1,H,W]). --quantize fp32
                     (default), fp16 (float16 weights); TrOCR and
                     latex-ocr-junia also int8, uint8 (dynamic 8-bit
                     MatMul), q4 (MatMulNBits, blocks of 32).
                       ocrtune export runs/fa --format onnx --out ex/fa --check data/fa
                       ocrtune export m/trocr --format onnx --quantize fp32,q4 --out ex/t
            gguf     Qwen2.5-VL / Qwen3-VL and DeepSeek-OCR / DeepSeek-OCR 2
                     for llama.cpp, as its converter writes them: the
                     language model (qwen2vl / qwen3vl / deepseek2-ocr, MoE
                     experts stacked; --quantize f16, bf16, q8_0) and
                     mmproj-*-F16.gguf (projector qwen2.5vl_merger,
                     qwen3vl_merger, deepseekocr or deepseekocr2).
                       ocrtune export runs/qwen --format gguf --quantize q8_0 --out ex/q
                       ocrtune export m/deepseek-ocr --format gguf --out ex/ds
            hf       A merged Hugging Face folder in transformers 5.x's key
                     layout (PP-OCR, TrOCR, Qwen-VL; DeepSeek-OCR in its
                     original names, which transformers writes and loads)
                     for from_pretrained/vLLM.
                       ocrtune export runs/qwen --format hf --out ex/qwen-hf
            peft     A LoRA run's adapter alone (language model only, no
                     modules_to_save), for peft and vLLM.
                       ocrtune export runs/qwen --format peft --out ex/lora
            mlx      Qwen-VL as the folder mlx-vlm loads; --quantize 4 or 8
                     packs the language model (groups of 64).
                       ocrtune export runs/qwen --format mlx --quantize 4 --out ex/m
            ocrtune  A run as a model folder in the base model's own layout
                     (loads wherever the base loads). Same as --merge.
                       ocrtune export --merge runs/fa --out models/fa

            --check DATASET reads the --split (default test) with the model in
            ocrtune and with each exported variant in its runtime (ONNX:
            onnxruntime's C library, no Python) and writes OUT/export-check.json:
            CER and exact match of both, the difference, the largest output
            difference on a probe batch, the file sizes. It fails (exit 1) when
            the CER moves by more than --tolerance points (default 0.2 for
            fp32/fp16, 1 for 8-bit, 3 for 4-bit). GGUF, hf and peft exports are
            checked by tools/check_export.py (their runtimes are Python).
            """)

    @Argument(help: ArgumentHelp("The model folder or training run folder to export.", valueName: "model-or-run")) var source: String
    @Option(help: "onnx, gguf, hf, peft, mlx or ocrtune (see below).") var format: String?
    @Flag(help: "Write a training run as a merged model folder (same as --format ocrtune).") var merge = false
    @Option(help: "Variants, comma-separated (onnx: fp32, fp16, int8, uint8, q4; gguf: f16, bf16, q8_0; mlx: 4, 8).") var quantize: [String] = []
    @Option(help: "Folder to write (replaced if it exists).") var out: String
    @Option(help: "Checkpoint, adapter or model folder of the run to export (default: its output, else its newest checkpoint).")
    var from: String?
    @Option(help: "Dataset folder: read a split with the export in its runtime and compare with ocrtune.") var check: String?
    @Option(help: "Split read by --check.") var split = "test"
    @Option(help: "Largest CER change --check accepts, in points (default: per variant).") var tolerance: Double?

    func exportFormat() throws -> ExportFormat {
        if merge {
            if let format, format != "ocrtune" { throw ValidationError("--merge writes the ocrtune format; drop --format \(format)") }
            return .ocrtune
        }
        guard let format else {
            throw ValidationError("give --format (\(ExportFormat.allCases.map(\.rawValue).joined(separator: ", "))), or --merge for a run")
        }
        guard let parsed = ExportFormat(rawValue: format.lowercased()) else {
            throw ValidationError("--format \(format): expected one of \(ExportFormat.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return parsed
    }

    func validate() throws {
        let format = try exportFormat()
        if check != nil && format != .onnx {
            throw ValidationError(
                "--check runs ONNX exports in onnxruntime; \(format.rawValue) exports are checked by tools/check_export.py (their runtimes are Python)")
        }
        if let tolerance, tolerance < 0 { throw ValidationError("--tolerance must not be negative") }
    }

    func run() throws {
        let format = try exportFormat()
        let sourceURL = URL(fileURLWithPath: source)
        if !Exporter.isRun(sourceURL) { _ = try ModelPath.modelFolder(source, option: "MODEL_OR_RUN") }
        let variants = quantize.flatMap { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } }
        let samples = try check.map { try DatasetSamples.load(dataset: $0, split: split) }
        let request = ExportRequest(
            source: sourceURL, from: from.map { URL(fileURLWithPath: $0) }, format: format, variants: variants,
            out: URL(fileURLWithPath: out))
        let outcome: ExportOutcome
        do {
            outcome = try Exporter.run(request)
        } catch {
            throw CLIError.from(error, doing: "export")
        }
        defer { outcome.cleanUp() }
        for note in outcome.notes { Terminal.line(note) }
        for variant in outcome.manifest.variants {
            Terminal.line("\(variant.name): \(variant.files.joined(separator: ", "))")
        }
        Terminal.line("wrote \(out)")
        guard let samples, let check else { return }
        let report: ExportCheckReport
        do {
            report = try ExportCheck.run(
                outcome, export: URL(fileURLWithPath: out), samples: samples, dataset: check, split: split,
                tolerance: tolerance) { Terminal.line($0) }
        } catch {
            throw CLIError.from(error, doing: "export --check")
        }
        Terminal.line(String(format: "ocrtune            CER %.2f%%  exact %.1f%%", report.ocrtune.cer * 100, report.ocrtune.exactMatch * 100))
        for v in report.variants {
            Terminal.line(String(
                format: "%-18@ CER %.2f%%  exact %.1f%%  ΔCER %+.2f pts (tolerance %.2f)  max |Δ%@| %.2e  %@",
                "\(v.name) (\(v.runtime))" as NSString, v.scores.cer * 100, v.scores.exactMatch * 100, v.cerDifferencePoints,
                v.tolerancePoints, v.differenceOf as NSString, v.largestDifference, (v.passed ? "ok" : "FAILED") as NSString))
        }
        Terminal.line("wrote \(out)/\(ExportCheck.reportFile)")
        if !report.passed {
            throw CLIError("export --check: the export's CER moved beyond the tolerance (see \(out)/\(ExportCheck.reportFile))")
        }
    }
}
