using System;
using System.Threading.Tasks;
using Polly;
using Polly.Retry;

namespace ModelCache.Transfer;

/// <summary>
/// Retries transient transfer failures with exponential backoff and jitter, honouring a server's
/// Retry-After up to <see cref="NetworkOptions.MaxRetryDelay"/>. Built on Polly.
/// </summary>
internal static class RetryPolicy
{
    /// <param name="options">Attempts and delays.</param>
    /// <param name="onRetry">Told of each retry: the failure, the attempt about to run (1-based) and the wait before it.</param>
    public static ResiliencePipeline Create(NetworkOptions options, Action<TransferException, int, TimeSpan> onRetry)
    {
        if (options.RetryCount <= 0)
        {
            return ResiliencePipeline.Empty;
        }

        return new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = options.RetryCount,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryBaseDelay,
                MaxDelay = options.MaxRetryDelay,
                ShouldHandle = args => new ValueTask<bool>(args.Outcome.Exception is TransferException { IsTransient: true }),
                DelayGenerator = args =>
                {
                    var retryAfter = (args.Outcome.Exception as TransferException)?.RetryAfter;
                    return new ValueTask<TimeSpan?>(retryAfter is { } wait && wait > TimeSpan.Zero
                        ? (wait < options.MaxRetryDelay ? wait : options.MaxRetryDelay)
                        : null);
                },
                OnRetry = args =>
                {
                    onRetry((TransferException)args.Outcome.Exception!, args.AttemptNumber + 1, args.RetryDelay);
                    return default;
                },
            })
            .Build();
    }
}
