using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;

// `--quick` trades precision for time (a couple of minutes in all); every other argument goes to BenchmarkDotNet,
// e.g. `--filter *WalshHadamard*`.
bool quick = args.Contains("--quick");
var rest = args.Where(a => a != "--quick").ToArray();
IConfig config = DefaultConfig.Instance;
if (quick)
    config = config.AddJob(Job.ShortRun.WithWarmupCount(2).WithIterationCount(3).WithLaunchCount(1));
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(rest.Length == 0 ? ["--filter", "*"] : rest, config);
