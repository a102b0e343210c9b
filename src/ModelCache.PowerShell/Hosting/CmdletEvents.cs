using System.Management.Automation;
using ModelCache.Errors;
using ModelCache.Operations;

namespace ModelCache.PowerShell.Hosting;

/// <summary>An operation's events written to a cmdlet's streams: through the bridge when one is given (calls from worker threads), else at once.</summary>
internal sealed class CmdletEvents : IOperationEvents
{
    private readonly Cmdlet _cmdlet;
    private readonly PipelineBridge? _bridge;

    public CmdletEvents(Cmdlet cmdlet, PipelineBridge? bridge)
    {
        _cmdlet = cmdlet;
        _bridge = bridge;
    }

    public void Verbose(string message) => Run(() => _cmdlet.WriteVerbose(message));

    public void Warning(string message) => Run(() => _cmdlet.WriteWarning(message));

    public void Failed(ModelCacheException error, object? target) => Run(() => _cmdlet.WriteError(ErrorRecords.From(error, target)));

    private void Run(System.Action write)
    {
        if (_bridge is null)
        {
            write();
        }
        else
        {
            _bridge.Post(write);
        }
    }
}
