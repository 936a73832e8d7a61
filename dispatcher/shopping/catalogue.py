"""The demo catalogue: about 380 everyday grocery items from the tenant's sellers.

Items are combinations of common products and pack sizes with plausible prices (yen) and packed
weights (grams), generated the same way on every machine.
"""

from __future__ import annotations

from sqlmodel import Session, col, func, select

from dispatcher.db import id_of
from dispatcher.models import Product, Seller

# category: [(name, kana, price yen, weight g), ...]
BASE: dict[str, list[tuple[str, str, int, int]]] = {
    "野菜": [
        ("大根", "だいこん", 158, 1000),
        ("白菜", "はくさい", 198, 1500),
        ("キャベツ", "きゃべつ", 178, 1200),
        ("玉ねぎ", "たまねぎ", 198, 800),
        ("じゃがいも", "じゃがいも", 198, 800),
        ("人参", "にんじん", 158, 500),
        ("ほうれん草", "ほうれんそう", 138, 250),
        ("ねぎ", "ねぎ", 128, 300),
        ("きゅうり", "きゅうり", 158, 400),
        ("トマト", "とまと", 298, 500),
    ],
    "果物": [
        ("りんご", "りんご", 298, 900),
        ("みかん", "みかん", 398, 1000),
        ("バナナ", "ばなな", 178, 700),
        ("柿", "かき", 248, 600),
        ("ぶどう", "ぶどう", 498, 500),
        ("梨", "なし", 298, 800),
    ],
    "肉": [
        ("豚こま切れ", "ぶたこまぎれ", 298, 250),
        ("鶏もも肉", "とりももにく", 358, 300),
        ("牛こま切れ", "ぎゅうこまぎれ", 498, 200),
        ("合いびき肉", "あいびきにく", 328, 300),
        ("ウインナー", "ういんなー", 228, 200),
        ("ハム", "はむ", 198, 120),
    ],
    "魚": [
        ("塩鮭", "しおざけ", 298, 200),
        ("さば切り身", "さばきりみ", 258, 200),
        ("あじ開き", "あじひらき", 238, 180),
        ("しらす", "しらす", 298, 80),
        ("ちくわ", "ちくわ", 98, 150),
        ("さんま缶", "さんまかん", 158, 190),
    ],
    "乳製品・卵": [
        ("牛乳", "ぎゅうにゅう", 218, 1100),
        ("卵", "たまご", 248, 650),
        ("ヨーグルト", "よーぐると", 158, 450),
        ("チーズ", "ちーず", 298, 200),
        ("バター", "ばたー", 398, 220),
        ("豆腐", "とうふ", 78, 400),
    ],
    "主食": [
        ("食パン", "しょくぱん", 158, 400),
        ("米 こしひかり", "こめ こしひかり", 2180, 5000),
        ("うどん", "うどん", 98, 600),
        ("そば", "そば", 158, 300),
        ("もち", "もち", 398, 500),
        ("ロールパン", "ろーるぱん", 168, 300),
    ],
    "調味料": [
        ("醤油", "しょうゆ", 298, 1100),
        ("味噌", "みそ", 358, 800),
        ("砂糖", "さとう", 228, 1000),
        ("塩", "しお", 128, 500),
        ("サラダ油", "さらだあぶら", 398, 1000),
        ("めんつゆ", "めんつゆ", 298, 1100),
    ],
    "惣菜": [
        ("おにぎり", "おにぎり", 128, 120),
        ("煮物", "にもの", 298, 250),
        ("焼き魚", "やきざかな", 348, 200),
        ("コロッケ", "ころっけ", 98, 100),
        ("弁当", "べんとう", 498, 450),
        ("漬物", "つけもの", 198, 200),
    ],
    "飲料": [
        ("緑茶", "りょくちゃ", 138, 550),
        ("麦茶", "むぎちゃ", 128, 2100),
        ("水", "みず", 98, 2100),
        ("野菜ジュース", "やさいじゅーす", 198, 1000),
        ("コーヒー", "こーひー", 498, 250),
        ("乳酸菌飲料", "にゅうさんきんいんりょう", 258, 500),
    ],
    "菓子": [
        ("せんべい", "せんべい", 198, 150),
        ("羊かん", "ようかん", 248, 300),
        ("饅頭", "まんじゅう", 298, 250),
        ("クッキー", "くっきー", 198, 150),
        ("飴", "あめ", 158, 100),
        ("かりんとう", "かりんとう", 178, 200),
    ],
    "日用品": [
        ("ティッシュ", "てぃっしゅ", 398, 900),
        ("トイレットペーパー", "といれっとぺーぱー", 498, 1600),
        ("洗剤", "せんざい", 298, 900),
        ("電池", "でんち", 398, 100),
        ("歯みがき", "はみがき", 198, 150),
        ("ゴミ袋", "ごみぶくろ", 248, 400),
    ],
    "冷凍食品": [
        ("冷凍うどん", "れいとううどん", 198, 900),
        ("冷凍ぎょうざ", "れいとうぎょうざ", 228, 350),
        ("冷凍野菜", "れいとうやさい", 198, 300),
        ("アイス", "あいす", 128, 150),
        ("冷凍からあげ", "れいとうからあげ", 298, 300),
        ("冷凍ピラフ", "れいとうぴらふ", 298, 450),
    ],
}
# pack variants: (suffix, price factor, weight factor)
PACKS = [
    ("", 1.0, 1.0),
    ("（小）", 0.6, 0.5),
    ("（徳用）", 1.8, 2.0),
    ("（国産）", 1.3, 1.0),
    ("（少量）", 0.45, 0.35),
]


def demo_products(seller_ids: list[int], tenant_id: str) -> list[Product]:
    """About 380 products, spread over the sellers."""
    out = []
    k = 0
    for category, items in BASE.items():
        for name, kana, price, weight in items:
            for suffix, pf, wf in PACKS:
                if category == "主食" and name.startswith("米") and suffix in ("（少量）", "（徳用）"):
                    continue  # no 10 kg rice by drone, no 1.7 kg "small" rice either
                out.append(
                    Product(
                        tenant_id=tenant_id,
                        seller_id=seller_ids[k % len(seller_ids)],
                        name=name + suffix,
                        kana=kana,
                        category=category,
                        price_yen=int(round(price * pf / 10.0) * 10 - 2) if price * pf > 20 else 18,
                        weight_g=max(30, int(weight * wf)),
                    )
                )
                k += 1
    return out


def seed_catalogue(session: Session, tenant_id: str) -> int:
    """Load the demo catalogue if the tenant has no products yet; returns the product count."""
    have = session.exec(select(func.count()).select_from(Product).where(Product.tenant_id == tenant_id)).one()
    if have:
        return int(have)
    sellers = session.exec(select(Seller).where(Seller.tenant_id == tenant_id).order_by(col(Seller.id))).all()
    if not sellers:
        return 0
    products = demo_products([id_of(s) for s in sellers], tenant_id)
    session.add_all(products)
    return len(products)
