using System;
using System.Threading;
using ModelCache.Transfer;
using Xunit;

namespace ModelCache.Core.Tests;

/// <summary>The per-host connection budget: shared, lowered by refusals, and given back with time (a site server lives long).</summary>
public sealed class HostConnectionsTests
{
    [Fact]
    public void A_refusal_lowers_the_host_and_the_connection_comes_back_after_the_recovery_time()
    {
        var network = new NetworkOptions { ConnectionsPerHost = 4, ConnectionRecovery = TimeSpan.FromMilliseconds(300) };
        var budget = HostConnections.For(network);
        using var first = budget.First("mirror");
        var extras = new[] { budget.TryExtra("mirror"), budget.TryExtra("mirror"), budget.TryExtra("mirror") };
        Assert.All(extras, Assert.NotNull);
        Assert.Null(budget.TryExtra("mirror"));

        Assert.Equal(3, budget.BackOff("mirror"));
        Assert.Equal(2, budget.BackOff("mirror"));
        foreach (var extra in extras)
        {
            extra!.Dispose();
        }

        Assert.Equal(2, budget.LimitOf("mirror"));
        Assert.Equal(4, budget.LimitOf("another"));
        Assert.Same(budget, HostConnections.For(network));

        Thread.Sleep(700);

        Assert.Equal(4, budget.LimitOf("mirror"));
        Assert.NotNull(budget.TryExtra("mirror"));
    }

    [Fact]
    public void Without_time_a_lowered_host_stays_lowered_and_never_below_one()
    {
        var budget = HostConnections.For(new NetworkOptions { ConnectionsPerHost = 2, ConnectionRecovery = TimeSpan.FromHours(1) });
        using var first = budget.First("mirror");

        Assert.Equal(1, budget.BackOff("mirror"));
        Assert.Equal(1, budget.BackOff("mirror"));
        Assert.Null(budget.TryExtra("mirror"));
        Assert.Equal(1, budget.LimitOf("mirror"));
    }
}
