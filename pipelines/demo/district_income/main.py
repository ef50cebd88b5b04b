from pyspark.sql import functions as F


def run(ctx):
    people = ctx.read("people")
    stats = people.groupBy("district").agg(
        F.count("*").alias("residents"),
        F.round(F.avg("income"), 2).alias("avg_income"),
    )
    ctx.write("district_income", stats.where(F.col("residents") >= ctx.params["min_group"]))
