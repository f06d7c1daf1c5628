namespace Router.Cli;

/// <summary>Process exit codes of <c>router</c>.</summary>
internal static class ExitCodes
{
    /// <summary>The run ended as requested (count, duration, end of input, Ctrl-C, stream timeout).</summary>
    public const int Ok = 0;

    /// <summary>A failure: unreadable input, unexpected close, lost connection (watch).</summary>
    public const int Failure = 1;

    /// <summary>The input (file, folder, webcam) cannot be opened. Command-line parse errors exit with 1 (System.CommandLine).</summary>
    public const int Usage = 2;

    /// <summary>The server refused the API key (device error + close 1008, consumer close 4001).</summary>
    public const int Unauthorized = 3;
}
