using System.CommandLine;
using System.CommandLine.Parsing;

namespace Router.Cli.Commands;

/// <summary>Options and checks shared by <c>push</c> and <c>watch</c>.</summary>
internal static class CommonOptions
{
    /// <summary>Environment variable holding the default API key.</summary>
    public const string ApiKeyVariable = "ROUTER_API_KEY";

    /// <summary>
    /// <c>--key</c>. There is deliberately no DefaultValueFactory: help would print the default, i.e. the secret;
    /// <see cref="ResolveApiKey"/> falls back to <c>ROUTER_API_KEY</c> instead.
    /// </summary>
    public static Option<string> ApiKey() => new("--key")
    {
        Description = $"API key (default: ${ApiKeyVariable})",
        HelpName = "key",
    };

    /// <summary><c>--source</c>, required.</summary>
    public static Option<string> Source(string description) => new("--source")
    {
        Description = description,
        Required = true,
        HelpName = "source_id",
    };

    /// <summary><c>--duration</c> in seconds.</summary>
    public static Option<double?> Duration(string description)
    {
        var option = new Option<double?>("--duration") { Description = description, HelpName = "seconds" };
        option.Validators.Add(r => RequirePositive(r, r.GetValueOrDefault<double?>(), "--duration"));
        return option;
    }

    /// <summary>The key given on the command line, else <c>ROUTER_API_KEY</c>, else null.</summary>
    public static string? ResolveApiKey(string? fromCommandLine) =>
        !string.IsNullOrEmpty(fromCommandLine) ? fromCommandLine : NullIfEmpty(Environment.GetEnvironmentVariable(ApiKeyVariable));

    /// <summary>Adds a validator that fails when neither <c>--key</c> nor <c>ROUTER_API_KEY</c> is set.</summary>
    public static void RequireApiKey(Command command, Option<string> key) =>
        command.Validators.Add(result =>
        {
            if (ResolveApiKey(result.GetValue(key)) is null)
                result.AddError($"An API key is required: pass --key or set {ApiKeyVariable}.");
        });

    /// <summary>Adds an error when <paramref name="value"/> is set and not positive.</summary>
    public static void RequirePositive(OptionResult result, double? value, string name)
    {
        if (value is { } v && !(v > 0 && double.IsFinite(v))) result.AddError($"{name} must be a positive number.");
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
