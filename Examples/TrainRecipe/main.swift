import Foundation
import Glossa
import GlossaBuiltins
import GlossaRecipes

// Trains the recipe named on the command line, as `glossa train --recipe` does, printing notes and validations.
guard CommandLine.arguments.count == 2 else {
    print("usage: train-recipe RECIPE.json")
    exit(64)
}
do {
    let recipe = try Recipe.load(URL(fileURLWithPath: CommandLine.arguments[1]))
    let result = try RecipeRun(recipe: recipe, registry: builtinPlugins).run { event in
        switch event {
        case .note(let line): print(line)
        case .training(.validation(let record)): print("step \(record.step): \(record.dev)")
        default: break
        }
    }
    print("wrote \(result.output.path) (\(result.weights))")
} catch {
    print("error: \(error)")
    exit(1)
}
