using Router.Actors.Hosting;
using Router.Node;

RouterNodeApp.PreferInlineSocketCompletions(); // before anything opens a socket

try
{
    RouterNodeApp.Build(args).Run();
    return 0;
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"Router.Node: {e.Message}");
    return 2;
}
catch (Exception e) when (RouterOptionsServiceCollectionExtensions.ConfigurationProblems(e) is { } problems)
{
    foreach (var problem in problems) Console.Error.WriteLine($"Router.Node: invalid configuration: {problem}");
    return 2;
}
