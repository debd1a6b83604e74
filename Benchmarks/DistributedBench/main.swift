// all_sum over the ranks of a run started with MLX_RANK / MLX_HOSTFILE (bench/distributed.py):
// seconds per all_sum of float32 buffers of several sizes through ocrtune's binding, for the
// comparison with MLX's Python API (mx.distributed.all_sum) on the same hostfile.
//
// Usage: DistributedBench [--sizes 262144,4194304] [--repeats 20] [--warmup 3]
// Prints one JSON object (rank 0): {"rank_count": N, "sizes": [{"elements", "seconds_best", "seconds_median"}]}

import Foundation
import MLXEngine

func option(_ name: String, _ fallback: String) -> String {
    let args = CommandLine.arguments
    guard let i = args.firstIndex(of: name), i + 1 < args.count else { return fallback }
    return args[i + 1]
}

do {
    guard let group = try DistributedGroup.fromEnvironment() else {
        FileHandle.standardError.write(Data("DistributedBench: start it with MLX_RANK and MLX_HOSTFILE set\n".utf8))
        exit(2)
    }
    let sizes = option("--sizes", "262144,4194304").split(separator: ",").compactMap { Int($0) }
    let repeats = Int(option("--repeats", "20")) ?? 20
    let warmup = Int(option("--warmup", "3")) ?? 3
    var results: [[String: Any]] = []
    for n in sizes {
        let x = MLXRandom.uniform([n], key: MLXRandom.key(UInt64(group.rank)))
        try eval(x)
        var times: [Double] = []
        for i in 0 ..< warmup + repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            try group.evaluate([group.allSum(x)])
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if i >= warmup { times.append(seconds) }
        }
        times.sort()
        results.append(["elements": n, "seconds_best": times[0], "seconds_median": times[times.count / 2]])
    }
    if group.rank == 0 {
        let json = try JSONSerialization.data(withJSONObject: ["rank_count": group.size, "sizes": results], options: [.sortedKeys])
        print(String(decoding: json, as: UTF8.self))
    }
} catch {
    FileHandle.standardError.write(Data("DistributedBench: \(error)\n".utf8))
    exit(1)
}
